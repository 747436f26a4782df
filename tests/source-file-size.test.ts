import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A newcomer should be able to read one source file in one sitting: every hand-written source file
 * under `packages/<name>/src` stays at or under this many lines. Tests (`*.test.ts`) and generated
 * files (first line says "Generated … do not edit", e.g. the client's `openapi-types.ts`) are not
 * counted. Split a file that grows past it by concern (see docs/contributing.md).
 */
const MAXIMUM_LINES = 600;

/**
 * Files allowed past {@link MAXIMUM_LINES} for now, each with its current length as a ceiling (it may
 * shrink, not grow), the reason and who splits it. Remove the entry once the file is split.
 */
const KNOWN_EXCEPTIONS: Readonly<Record<string, { lines: number; reason: string }>> = {};

const repositoryRoot = join(import.meta.dirname, '..');
const SOURCE_EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs|css|html)$/;
const GENERATED_MARKER = /generated\b.*\bdo not edit/i;

/** Hand-written source files under packages/<name>/src, as paths relative to the repository. */
function handWrittenSourceFiles(): string[] {
  const files: string[] = [];
  for (const name of readdirSync(join(repositoryRoot, 'packages'))) {
    const source = join(repositoryRoot, 'packages', name, 'src');
    let entries: string[];
    try {
      entries = readdirSync(source, { recursive: true, encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!SOURCE_EXTENSIONS.test(entry) || /\.test\.[cm]?ts$/.test(entry)) continue;
      const path = join(source, entry);
      const firstLine = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
      if (GENERATED_MARKER.test(firstLine)) continue;
      files.push(relative(repositoryRoot, path).split('\\').join('/'));
    }
  }
  return files.sort();
}

/** Number of lines of a file, as `wc -l` counts them for a file that ends with a newline. */
function lineCount(path: string): number {
  const text = readFileSync(join(repositoryRoot, path), 'utf8');
  return text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
}

describe('source file size', () => {
  const files = handWrittenSourceFiles();

  it('finds the hand-written sources of every package (and leaves generated ones out)', () => {
    for (const name of ['core', 'trainer', 'registry', 'server-adapter']) {
      expect(files.some((file) => file.startsWith(`packages/${name}/src/`))).toBe(true);
    }
    expect(files).toContain('packages/trainer/src/train/create-trainer.ts');
    expect(files).not.toContain('packages/server-adapter/src/client/openapi-types.ts');
    expect(files.some((file) => file.endsWith('.test.ts'))).toBe(false);
  });

  it(`keeps every hand-written source file at or under ${MAXIMUM_LINES} lines`, () => {
    const tooLong = files
      .map((file) => ({ file, lines: lineCount(file) }))
      .filter(({ file, lines }) => lines > (KNOWN_EXCEPTIONS[file]?.lines ?? MAXIMUM_LINES))
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    const missing = Object.keys(KNOWN_EXCEPTIONS).filter((file) => !files.includes(file));
    expect(missing, 'known exceptions whose file no longer exists (remove them)').toEqual([]);
    expect(tooLong, `split these files by concern (at most ${MAXIMUM_LINES} lines)`).toEqual([]);
  });
});
