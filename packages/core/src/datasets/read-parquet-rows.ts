import { tunekitError } from '../errors/tunekit-error.js';
import type { RawRow } from './raw-row.js';

/** Converts parquet values to JSON values: int64 to numbers (or strings beyond 2^53), dates to ISO. */
function toJsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) {
    return value.toISOString();
  }
  if (Array.isArray(value)) {
    return value.map(toJsonValue);
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const result: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      result[key] = toJsonValue(entry);
    }
    return result;
  }
  return value;
}

/**
 * Reads a Parquet file with hyparquet, one row group at a time (memory is bounded by the largest
 * row group, not the file). Nested columns (a list of `{ role, content }` structs) come back as
 * arrays of objects; int64 values become numbers.
 *
 * @param path - a local file path (hyparquet reads byte ranges of it).
 * @throws `DATASET_INVALID` (422) when the file is not a readable Parquet file (garbage, truncated).
 */
export async function* readParquetRows(path: string): AsyncGenerator<RawRow> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const file = await asyncBufferFromFile(path);
  const unreadable = (error: unknown) =>
    tunekitError(
      'DATASET_INVALID',
      `The file is not a readable Parquet file: ${(error as Error)?.message ?? String(error)}`,
      { fileFormat: 'parquet' },
      { cause: error },
    );
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw unreadable(error);
  }
  let rowStart = 0;
  let row = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const objects = await parquetReadObjects({ file, metadata, rowStart, rowEnd }).catch((error: unknown) => {
      throw unreadable(error);
    });
    for (const object of objects) {
      row += 1;
      yield { kind: 'value', row, value: toJsonValue(object) };
    }
    rowStart = rowEnd;
  }
}
