/**
 * Regenerates `src/client/openapi-types.ts` from the route table's OpenAPI document:
 *   npm run generate:client -w @tunekit/server-adapter
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generateOpenApiTypes } from '../src/openapi/generate-openapi-types.js';

const target = fileURLToPath(new URL('../src/client/openapi-types.ts', import.meta.url));
await writeFile(target, await generateOpenApiTypes());
console.log(`wrote ${target}`);
