import { extname } from 'node:path';
import type { DatasetFileFormat } from '../schemas/dataset-version.js';

const EXTENSIONS: Record<string, DatasetFileFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.csv': 'csv',
  '.tsv': 'csv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** The first non-whitespace byte after an optional UTF-8 byte order mark, or undefined. */
function firstSignificantByte(head: Uint8Array): number | undefined {
  let index = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  for (; index < head.length; index++) {
    const byte = head[index] as number;
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) {
      return byte;
    }
  }
  return undefined;
}

/** True when the bytes start with the Parquet magic number `PAR1`. */
export function hasParquetMagic(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31;
}

/**
 * Detects the file format of a dataset from its file name and its first bytes: the Parquet magic
 * wins; a `.json` file whose content starts with `{` is read as JSON Lines; without a known
 * extension, `[` means JSON, `{` JSON Lines, anything else CSV.
 *
 * @returns undefined when the head has no content at all (an empty file).
 */
export function detectFileFormat(
  fileName: string | undefined,
  head: Uint8Array,
): DatasetFileFormat | undefined {
  if (hasParquetMagic(head)) {
    return 'parquet';
  }
  const first = firstSignificantByte(head);
  if (first === undefined) {
    return undefined;
  }
  const byExtension = fileName === undefined ? undefined : EXTENSIONS[extname(fileName).toLowerCase()];
  if (byExtension === 'json' && first === 0x7b) {
    return 'jsonl';
  }
  if (byExtension !== undefined && byExtension !== 'parquet') {
    return byExtension;
  }
  if (first === 0x5b) {
    return 'json';
  }
  if (first === 0x7b) {
    return 'jsonl';
  }
  return 'csv';
}
