import type { RawRow } from './raw-row.js';
import { splitLines } from './split-lines.js';

/**
 * Reads JSON Lines as a stream, one row a non-blank line. A line that is not valid JSON is reported
 * with its line number; a line longer than `maxLineBytes` is reported without being held in memory.
 */
export async function* readJsonlRows(
  chunks: AsyncIterable<Uint8Array | string>,
  options: { maxLineBytes: number },
): AsyncGenerator<RawRow> {
  let row = 0;
  for await (const { line, text, tooLongBytes } of splitLines(chunks, options.maxLineBytes)) {
    if (tooLongBytes !== undefined) {
      row += 1;
      yield {
        kind: 'error',
        row,
        line,
        category: 'line-too-long',
        reason: `line is ${tooLongBytes} bytes, more than the limit of ${options.maxLineBytes} bytes`,
      };
      continue;
    }
    const content = line === 1 ? stripByteOrderMark(text ?? '') : (text ?? '');
    if (content.trim() === '') {
      continue;
    }
    row += 1;
    try {
      yield { kind: 'value', row, line, value: JSON.parse(content) };
    } catch (error) {
      yield {
        kind: 'error',
        row,
        line,
        category: 'invalid-json',
        reason: `invalid JSON: ${(error as Error).message}`,
      };
    }
  }
}

/** Removes a leading UTF-8 byte order mark. */
export function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
