import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';
import type { DatasetFileFormat, DatasetOrigin } from '../schemas/dataset-version.js';
import type { DatasetSource } from './dataset-source.js';
import { detectFileFormat } from './detect-file-format.js';
import type { RawRow } from './raw-row.js';
import { readCsvRows } from './read-csv-rows.js';
import { readJsonArrayRows } from './read-json-array-rows.js';
import { readJsonlRows } from './read-jsonl-rows.js';
import { readParquetRows } from './read-parquet-rows.js';

/** A source opened for reading: its format, its raw rows, and how many bytes were read. */
export interface OpenedDatasetSource {
  origin: DatasetOrigin;
  fileFormat?: DatasetFileFormat;
  rows: AsyncIterable<RawRow>;
  /** Bytes of the source read so far (final once `rows` is exhausted); undefined for in-memory rows. */
  sourceBytes(): number | undefined;
  /** Removes temporary files (a Parquet upload spooled to disk). */
  close(): Promise<void>;
}

/** Options of {@link openDatasetSource}. */
export interface OpenDatasetSourceOptions {
  /** The file format, when known; detected from the file name and the content otherwise. */
  fileFormat?: DatasetFileFormat;
  /** Longest line (JSONL), array element (JSON) or record (CSV) accepted, in bytes. */
  maxLineBytes: number;
}

function emptySourceError(what: string): TunekitError {
  return tunekitError('DATASET_EMPTY', `The dataset ${what} is empty: it has no rows`, { source: what });
}

/** Fails with a coded error when `path` is missing or not a regular file. */
async function checkFile(path: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw tunekitError('NOT_FOUND', `Dataset file "${path}" does not exist`, { path });
    }
    throw error;
  }
  if (!isFile) {
    throw tunekitError('VALIDATION_FAILED', `Dataset path "${path}" is not a file`, { path });
  }
}

/** Reads chunks until `minimum` bytes are seen (or the end), then replays them before the rest. */
async function peek(
  source: AsyncIterable<Uint8Array | string>,
  minimum: number,
): Promise<{
  head: Buffer;
  chunks: AsyncIterable<Buffer>;
  bytesRead: () => number;
  cancel: () => Promise<void>;
}> {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let done = false;
  const onlyWhitespace = () => buffered.every((chunk) => /^[\s\ufeff]*$/.test(chunk.toString('utf8')));
  while (bufferedBytes < minimum || (bufferedBytes < 1 << 20 && onlyWhitespace())) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : Buffer.from(next.value);
    buffered.push(chunk);
    bufferedBytes += chunk.length;
  }
  let bytesRead = bufferedBytes;
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield* buffered.splice(0);
      while (!done) {
        const next = await iterator.next();
        if (next.done) {
          break;
        }
        const chunk =
          typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : (next.value as Buffer);
        bytesRead += chunk.length;
        yield chunk;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return {
    head: Buffer.concat(buffered),
    chunks: replay(),
    bytesRead: () => bytesRead,
    cancel: async () => {
      await iterator.return?.();
    },
  };
}

function readerFor(
  format: Exclude<DatasetFileFormat, 'parquet'>,
  chunks: AsyncIterable<Uint8Array | string>,
  maxLineBytes: number,
  fileName: string | undefined,
): AsyncIterable<RawRow> {
  switch (format) {
    case 'jsonl':
      return readJsonlRows(chunks, { maxLineBytes });
    case 'json':
      return readJsonArrayRows(chunks, { maxLineBytes });
    case 'csv':
      return readCsvRows(chunks, {
        maxLineBytes,
        delimiter: fileName?.toLowerCase().endsWith('.tsv') ? '\t' : ',',
      });
  }
}

async function* rawRowsFromValues(rows: Iterable<unknown> | AsyncIterable<unknown>): AsyncGenerator<RawRow> {
  let row = 0;
  for await (const value of rows) {
    row += 1;
    yield { kind: 'value', row, value };
  }
}

/**
 * Opens a dataset source for streaming: detects the file format (unless given), picks the reader
 * and counts the bytes read. Parquet needs random access, so a Parquet stream is spooled to a
 * temporary file first.
 *
 * @throws `DATASET_EMPTY` for a file or stream without content.
 */
export async function openDatasetSource(
  source: DatasetSource,
  options: OpenDatasetSourceOptions,
): Promise<OpenedDatasetSource> {
  if ('rows' in source) {
    return {
      origin: 'rows',
      rows: rawRowsFromValues(source.rows),
      sourceBytes: () => undefined,
      close: async () => {},
    };
  }
  if ('path' in source) {
    await checkFile(source.path);
  }
  const fileName = 'path' in source ? source.path : source.fileName;
  const input: AsyncIterable<Uint8Array | string> =
    'path' in source ? createReadStream(source.path, { highWaterMark: 1 << 20 }) : source.stream;
  const peeked = await peek(input, 64);
  const fileFormat = options.fileFormat ?? detectFileFormat(fileName, peeked.head);
  if (fileFormat === undefined || peeked.head.length === 0) {
    await peeked.cancel();
    throw emptySourceError('path' in source ? `file "${source.path}"` : 'stream');
  }
  if (fileFormat !== 'parquet') {
    return {
      origin: 'path' in source ? 'file' : 'stream',
      fileFormat,
      rows: readerFor(fileFormat, peeked.chunks, options.maxLineBytes, fileName),
      sourceBytes: peeked.bytesRead,
      close: async () => {},
    };
  }
  if ('path' in source) {
    await peeked.cancel();
    const { size } = await stat(source.path);
    return {
      origin: 'file',
      fileFormat,
      rows: readParquetRows(source.path),
      sourceBytes: () => size,
      close: async () => {},
    };
  }
  // The process id in the name lets a restarted server remove spools a killed process left behind.
  const directory = await mkdtemp(join(tmpdir(), `tunekit-parquet-${process.pid}-`));
  const spooled = join(directory, 'upload.parquet');
  try {
    await pipeline(peeked.chunks, createWriteStream(spooled));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    origin: 'stream',
    fileFormat,
    rows: readParquetRows(spooled),
    sourceBytes: peeked.bytesRead,
    close: () => rm(directory, { recursive: true, force: true }),
  };
}
