import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateWebUiFiles } from './generate-web-ui-files.js';

describe('committed web UI files module', () => {
  it('matches src/ui/assets/ (run npm run generate:ui -w @tunekit/server-adapter)', async () => {
    const committed = await readFile(new URL('./web-ui-files.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await generateWebUiFiles());
  });
});
