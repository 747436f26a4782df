/**
 * Regenerates `src/ui/web-ui-files.ts` from the web UI's files in `src/ui/assets/`:
 *   npm run generate:ui -w @tunekit/server-adapter
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generateWebUiFiles } from '../src/ui/generate-web-ui-files.js';

const target = fileURLToPath(new URL('../src/ui/web-ui-files.ts', import.meta.url));
await writeFile(target, await generateWebUiFiles());
console.log(`wrote ${target}`);
