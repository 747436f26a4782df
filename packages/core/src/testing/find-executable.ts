import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The absolute path of an executable: `name` looked up in `directories` (default: `$PATH`), or
 * undefined when none is found. Synchronous so that tests can decide to skip at collection time.
 */
export function findExecutable(name: string, directories?: readonly string[]): string | undefined {
  const searched = directories ?? (process.env.PATH ?? '').split(delimiter).filter((entry) => entry !== '');
  for (const directory of searched) {
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
