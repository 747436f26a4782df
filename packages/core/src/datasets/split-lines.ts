/** One line produced by {@link splitLines}: its text, or its size when it exceeded the limit. */
export interface SplitLine {
  /** 1-based line number. */
  line: number;
  /** The line without its `\n` (and `\r`); absent when the line was too long. */
  text?: string;
  /** Size in bytes of a line that exceeded `maxLineBytes` (its content was discarded). */
  tooLongBytes?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into UTF-8 lines with bounded memory: a line longer than `maxLineBytes` is
 * not accumulated; it is skipped up to the next newline and reported with its size, so a file with a
 * gigabyte on one line never exhausts memory. Blank lines are yielded too (with empty text).
 *
 * @param chunks - the bytes (a `Readable`, or any async iterable of buffers or strings).
 * @param maxLineBytes - the largest line kept, in bytes.
 */
export async function* splitLines(
  chunks: AsyncIterable<Uint8Array | string>,
  maxLineBytes: number,
): AsyncGenerator<SplitLine> {
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let overflowBytes = -1;
  let lineNumber = 0;

  const finish = (segment: Buffer): SplitLine => {
    lineNumber += 1;
    if (overflowBytes >= 0) {
      const tooLongBytes = overflowBytes + segment.length;
      overflowBytes = -1;
      return { line: lineNumber, tooLongBytes };
    }
    const total = pieceBytes + segment.length;
    if (total > maxLineBytes) {
      pieces = [];
      pieceBytes = 0;
      return { line: lineNumber, tooLongBytes: total };
    }
    let bytes = pieces.length === 0 ? segment : Buffer.concat([...pieces, segment], total);
    pieces = [];
    pieceBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    return { line: lineNumber, text: bytes.toString('utf8') };
  };

  for await (const chunk of chunks) {
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (start <= buffer.length) {
      const newline = buffer.indexOf(NEWLINE, start);
      if (newline === -1) {
        const rest = buffer.subarray(start);
        if (rest.length > 0) {
          if (overflowBytes >= 0) {
            overflowBytes += rest.length;
          } else if (pieceBytes + rest.length > maxLineBytes) {
            overflowBytes = pieceBytes + rest.length;
            pieces = [];
            pieceBytes = 0;
          } else {
            // Copy: the reader may reuse its buffer.
            pieces.push(Buffer.from(rest));
            pieceBytes += rest.length;
          }
        }
        break;
      }
      yield finish(buffer.subarray(start, newline));
      start = newline + 1;
    }
  }
  if (pieceBytes > 0 || overflowBytes >= 0) {
    yield finish(Buffer.alloc(0));
  }
}
