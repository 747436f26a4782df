import { describe, expect, it } from 'vitest';
import type { RawRow } from './raw-row.js';
import { readJsonArrayRows } from './read-json-array-rows.js';
import { readJsonlRows } from './read-jsonl-rows.js';
import { splitLines } from './split-lines.js';

/** Yields `text` as UTF-8 bytes in pieces of `size` bytes (cutting through multi-byte characters). */
async function* chunked(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield bytes.subarray(offset, offset + size);
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) {
    result.push(item);
  }
  return result;
}

describe('splitLines', () => {
  it('gives the same lines for every chunk size, with CRLF and multi-byte characters', async () => {
    const text = 'héllo wörld\r\n\nπ = 3.14159 ✓\nlast line without newline';
    for (const size of [1, 2, 3, 5, 7, 64]) {
      expect(await collect(splitLines(chunked(text, size), 1000))).toEqual([
        { line: 1, text: 'héllo wörld' },
        { line: 2, text: '' },
        { line: 3, text: 'π = 3.14159 ✓' },
        { line: 4, text: 'last line without newline' },
      ]);
    }
  });

  it('skips a line over the limit, reporting its size, and goes on', async () => {
    const text = `short\n${'y'.repeat(100)}\nafter\n${'z'.repeat(30)}`;
    for (const size of [1, 8, 1000]) {
      expect(await collect(splitLines(chunked(text, size), 20))).toEqual([
        { line: 1, text: 'short' },
        { line: 2, tooLongBytes: 100 },
        { line: 3, text: 'after' },
        { line: 4, tooLongBytes: 30 },
      ]);
    }
  });
});

describe('readJsonlRows', () => {
  it('numbers rows and lines separately (blank lines are not rows) and strips a byte order mark', async () => {
    const rows = await collect(
      readJsonlRows(chunked('\ufeff{"a":1}\n\n{"a":\n{"a":3}', 3), { maxLineBytes: 100 }),
    );
    expect(rows).toEqual<RawRow[]>([
      { kind: 'value', row: 1, line: 1, value: { a: 1 } },
      {
        kind: 'error',
        row: 2,
        line: 3,
        category: 'invalid-json',
        reason: expect.stringContaining('invalid JSON'),
      },
      { kind: 'value', row: 3, line: 4, value: { a: 3 } },
    ]);
  });
});

describe('readJsonArrayRows', () => {
  const text =
    '\ufeff[\n  {"text": "a, [b] {c} \\"d\\" \\\\"},\n  {"n": [1, {"x": "]"}]},\n  "plain",\n  42\n]\n';
  it('splits top-level elements for every chunk size (strings, escapes and nesting)', async () => {
    for (const size of [1, 2, 5, 13, 4096]) {
      const rows = await collect(readJsonArrayRows(chunked(text, size), { maxLineBytes: 1000 }));
      expect(rows).toEqual<RawRow[]>([
        { kind: 'value', row: 1, line: 2, value: { text: 'a, [b] {c} "d" \\' } },
        { kind: 'value', row: 2, line: 3, value: { n: [1, { x: ']' }] } },
        { kind: 'value', row: 3, line: 4, value: 'plain' },
        { kind: 'value', row: 4, line: 5, value: 42 },
      ]);
    }
  });

  it('reports a malformed element and goes on with the next', async () => {
    const rows = await collect(
      readJsonArrayRows(chunked('[{"a":1}, {"a": nope}, {"a":3}]', 4), { maxLineBytes: 1000 }),
    );
    expect(rows.map((row) => (row.kind === 'value' ? row.value : row.category))).toEqual([
      { a: 1 },
      'invalid-json',
      { a: 3 },
    ]);
  });

  it('rejects content after the closing bracket', async () => {
    await expect(
      collect(readJsonArrayRows(chunked('[1] [2]', 2), { maxLineBytes: 10 })),
    ).rejects.toMatchObject({
      code: 'DATASET_INVALID',
    });
  });
});
