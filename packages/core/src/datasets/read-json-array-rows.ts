import { tunekitError } from '../errors/tunekit-error.js';
import type { RawRow } from './raw-row.js';

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * Reads a JSON file whose top level is an array of rows, as a stream: the bytes are scanned for the
 * array's top-level elements (strings, escapes and nesting tracked), and each element is parsed on
 * its own, so memory is bounded by the largest element, never by the file. An element that is not
 * valid JSON is reported with its position; one larger than `maxLineBytes` is skipped and reported.
 *
 * @throws `DATASET_INVALID` when the top level is not an array.
 */
export async function* readJsonArrayRows(
  chunks: AsyncIterable<Uint8Array | string>,
  options: { maxLineBytes: number },
): AsyncGenerator<RawRow> {
  // 0: before '[', 1: expecting an element or ']', 2: inside an element, 3: after the closing ']'.
  let state = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let oversize = false;
  let elementLine = 0;
  let line = 1;
  let row = 0;
  // Bytes of a UTF-8 byte order mark still allowed before '['.
  let byteOrderMark = 0;

  const finishElement = (): RawRow => {
    row += 1;
    const total = pieceBytes;
    const bytes = oversize ? undefined : Buffer.concat(pieces, total);
    pieces = [];
    pieceBytes = 0;
    const wasOversize = oversize;
    oversize = false;
    if (wasOversize || bytes === undefined) {
      return {
        kind: 'error',
        row,
        line: elementLine,
        category: 'line-too-long',
        reason: `array element is ${total} bytes, more than the limit of ${options.maxLineBytes} bytes`,
      };
    }
    try {
      return { kind: 'value', row, line: elementLine, value: JSON.parse(bytes.toString('utf8')) };
    } catch (error) {
      return {
        kind: 'error',
        row,
        line: elementLine,
        category: 'invalid-json',
        reason: `invalid JSON: ${(error as Error).message}`,
      };
    }
  };

  const keep = (buffer: Buffer, start: number, end: number) => {
    if (end <= start) {
      return;
    }
    const length = end - start;
    if (!oversize && pieceBytes + length > options.maxLineBytes) {
      oversize = true;
      pieces = [];
    }
    if (!oversize) {
      pieces.push(Buffer.from(buffer.subarray(start, end)));
    }
    pieceBytes += length;
  };

  for await (const chunk of chunks) {
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let elementStart = state === 2 ? 0 : -1;
    const rows: RawRow[] = [];
    for (let index = 0; index < buffer.length; index++) {
      const byte = buffer[index] as number;
      if (byte === NEWLINE) {
        line += 1;
      }
      if (state === 2) {
        if (inString) {
          if (escaped) {
            escaped = false;
          } else if (byte === BACKSLASH) {
            escaped = true;
          } else if (byte === QUOTE) {
            inString = false;
          }
          continue;
        }
        if (byte === QUOTE) {
          inString = true;
        } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
          depth += 1;
        } else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && depth > 0) {
          depth -= 1;
        } else if (depth === 0 && (byte === COMMA || byte === CLOSE_BRACKET)) {
          keep(buffer, elementStart, index);
          rows.push(finishElement());
          state = byte === COMMA ? 1 : 3;
          elementStart = -1;
        }
        continue;
      }
      if (isWhitespace(byte)) {
        continue;
      }
      if (state === 0) {
        if (byteOrderMark < 3 && byte === [0xef, 0xbb, 0xbf][byteOrderMark]) {
          byteOrderMark += 1;
          continue;
        }
        if (byte !== OPEN_BRACKET) {
          throw tunekitError(
            'DATASET_INVALID',
            'A JSON dataset must be an array of rows (use JSON Lines for one object per line)',
            { line },
          );
        }
        state = 1;
      } else if (state === 1) {
        if (byte === CLOSE_BRACKET && row === 0) {
          state = 3;
          continue;
        }
        state = 2;
        depth = 0;
        elementStart = index;
        elementLine = line;
        index -= 1; // re-read this byte as the element's first byte (it is not a newline)
      } else {
        throw tunekitError(
          'DATASET_INVALID',
          `Unexpected content after the end of the JSON array at line ${line}`,
          { line },
        );
      }
    }
    if (state === 2 && elementStart >= 0) {
      keep(buffer, elementStart, buffer.length);
    }
    yield* rows;
  }
  if (state === 2) {
    row += 1;
    yield {
      kind: 'error',
      row,
      line: elementLine,
      category: 'invalid-json',
      reason: 'invalid JSON: the file ends inside an array element (the array is not closed)',
    };
  } else if (state === 1 && row > 0) {
    yield {
      kind: 'error',
      row: row + 1,
      line,
      category: 'invalid-json',
      reason: 'invalid JSON: the file ends before the array is closed',
    };
  }
}
