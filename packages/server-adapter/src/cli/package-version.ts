import { readFileSync } from 'node:fs';

/** The version of `@tunekit/server-adapter` (the package that owns the `tunekit` bin). */
export function packageVersion(): string {
  // src/cli/*.ts and dist/cli/*.js are both two folders below the package root.
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}
