import type { Readable } from 'node:stream';

/**
 * Where the rows of a new dataset version come from:
 * - `{ path }`: a local file (JSONL, JSON, CSV or Parquet), read as a stream;
 * - `{ rows }`: rows in memory, or any (async) iterable of rows, e.g. a generator;
 * - `{ stream }`: the bytes of a file (an upload), with an optional `fileName` for format detection.
 */
export type DatasetSource =
  | { path: string }
  | { rows: Iterable<unknown> | AsyncIterable<unknown> }
  | { stream: Readable | AsyncIterable<Uint8Array | string>; fileName?: string };
