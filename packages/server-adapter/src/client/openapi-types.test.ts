import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateOpenApiTypes } from '../openapi/generate-openapi-types.js';

describe('committed client types', () => {
  it('match the types generated from the current OpenAPI document (run npm run generate:client -w @tunekit/server-adapter)', async () => {
    const committed = await readFile(new URL('./openapi-types.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await generateOpenApiTypes());
  });
});
