import { pipeline, Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import type { RawRow } from './raw-row.js';

/** Columns whose cells hold JSON (a chat transcript in a CSV cell). */
const JSON_COLUMNS = new Set(['messages']);

function cellValue(column: string, cell: string): unknown {
  if (JSON_COLUMNS.has(column)) {
    const trimmed = cell.trim();
    if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
      try {
        return JSON.parse(trimmed);
      } catch {
        return cell;
      }
    }
  }
  return cell;
}

/**
 * Reads CSV with a header row as a stream (csv-parse): each record becomes an object keyed by the
 * header; a record with a different number of columns than the header is reported with its line;
 * cells of a `messages` column are parsed as JSON. Cell values stay strings.
 *
 * @throws `DATASET_INVALID` when the header is malformed or the CSV cannot be parsed past a point
 * (an unclosed quote, a record larger than `maxLineBytes`).
 */
export async function* readCsvRows(
  chunks: AsyncIterable<Uint8Array | string>,
  options: { maxLineBytes: number; delimiter?: string },
): AsyncGenerator<RawRow> {
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? ',',
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
    max_record_size: options.maxLineBytes,
  });
  pipeline(Readable.from(chunks), parser, () => {});
  let header: string[] | undefined;
  let row = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (header === undefined) {
        header = record.map((name) => name.trim());
        const seen = new Set<string>();
        for (const name of header) {
          if (name === '' || seen.has(name)) {
            throw tunekitError(
              'DATASET_INVALID',
              `CSV header has ${name === '' ? 'an empty' : `a duplicate ("${name}")`} column name`,
              { line: info.lines, header },
            );
          }
          seen.add(name);
        }
        continue;
      }
      row += 1;
      if (record.length !== header.length) {
        yield {
          kind: 'error',
          row,
          line: info.lines,
          category: 'wrong-column-count',
          reason: `expected ${header.length} columns (${header.join(', ')}), found ${record.length}`,
        };
        continue;
      }
      const value: Record<string, unknown> = {};
      for (let index = 0; index < header.length; index++) {
        const column = header[index] as string;
        value[column] = cellValue(column, record[index] as string);
      }
      yield { kind: 'value', row, line: info.lines, value };
    }
  } catch (error) {
    if (TunekitError.isInstance(error)) {
      throw error;
    }
    const csvError = error as Error & { code?: string; lines?: number };
    throw tunekitError(
      'DATASET_INVALID',
      `CSV cannot be parsed: ${csvError.message}`,
      { reason: csvError.message, csvCode: csvError.code, line: csvError.lines },
      { cause: error },
    );
  }
}
