import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { tunekitError } from '../errors/tunekit-error.js';
import { toValidationIssues } from '../errors/validation-error.js';
import { type RowFormat, RowSchemas } from '../schemas/dataset-row.js';
import { canonicalRow } from './canonical-row.js';
import { detectRowFormat } from './detect-row-format.js';
import type { RawRow } from './raw-row.js';
import { formatRowIssues, type ValidationReport, ValidationReportBuilder } from './validation-report.js';

/** Options of {@link ingestRows}. */
export interface IngestRowsOptions {
  /** The row format; detected from the first recognizable row when omitted. */
  rowFormat?: RowFormat;
  /** `strict` rejects the whole source when any row is invalid; `lenient` drops invalid rows. */
  mode: 'strict' | 'lenient';
  /** How many issues the report keeps in full. */
  maxReportedIssues: number;
  /** Where to write the canonical JSONL; omit to validate only. */
  outputPath?: string;
  /** How many rows format detection may look at before giving up (default 100). */
  detectionRows?: number;
}

/** What {@link ingestRows} produced. */
export interface IngestRowsResult {
  rowFormat: RowFormat;
  /** Hex sha256 of the canonical JSONL. */
  sha256: string;
  rowCount: number;
  /** Size of the canonical JSONL in bytes. */
  bytes: number;
  report: ValidationReport;
}

const FLUSH_BYTES = 256 * 1024;

function describeValue(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

async function detectFormat(
  iterator: AsyncIterator<RawRow>,
  limit: number,
): Promise<{ rowFormat: RowFormat | undefined; lookahead: RawRow[]; fieldsSeen?: string[] }> {
  const lookahead: RawRow[] = [];
  let fieldsSeen: string[] | undefined;
  while (lookahead.length < limit) {
    const next = await iterator.next();
    if (next.done) {
      break;
    }
    lookahead.push(next.value);
    if (next.value.kind === 'value') {
      const rowFormat = detectRowFormat(next.value.value);
      if (rowFormat !== undefined) {
        return { rowFormat, lookahead };
      }
      if (fieldsSeen === undefined && next.value.value !== null && typeof next.value.value === 'object') {
        fieldsSeen = Object.keys(next.value.value);
      }
    }
  }
  return { rowFormat: undefined, lookahead, fieldsSeen };
}

/**
 * Validates raw rows with the zod schema of their row format and writes the valid ones as canonical
 * JSONL (sorted keys, one row a line) while hashing them with sha256, in one streaming pass with
 * bounded memory.
 *
 * @throws `DATASET_EMPTY` when there are no rows; `DATASET_ROW_FORMAT_UNKNOWN` when no row has a
 * recognizable set of fields; `DATASET_INVALID` in strict mode when any row is invalid, or in
 * lenient mode when none is valid (`details.report` holds the {@link ValidationReport}).
 */
export async function ingestRows(
  rows: AsyncIterable<RawRow>,
  options: IngestRowsOptions,
): Promise<IngestRowsResult> {
  const iterator = rows[Symbol.asyncIterator]();
  let output: WriteStream | undefined;
  try {
    let rowFormat = options.rowFormat;
    let lookahead: RawRow[] = [];
    if (rowFormat === undefined) {
      const detected = await detectFormat(iterator, options.detectionRows ?? 100);
      lookahead = detected.lookahead;
      if (lookahead.length === 0) {
        throw tunekitError('DATASET_EMPTY', 'The dataset is empty: it has no rows');
      }
      if (detected.rowFormat === undefined) {
        throw tunekitError(
          'DATASET_ROW_FORMAT_UNKNOWN',
          `Cannot detect the row format from the first ${lookahead.length} rows` +
            (detected.fieldsSeen === undefined ? '' : ` (fields: ${detected.fieldsSeen.join(', ')})`) +
            '; expected text, text+label, prompt+completion, messages, or prompt+chosen+rejected',
          { fieldsSeen: detected.fieldsSeen ?? [] },
        );
      }
      rowFormat = detected.rowFormat;
    }
    const schema = RowSchemas[rowFormat];
    const report = new ValidationReportBuilder(options.maxReportedIssues);
    const hash = createHash('sha256');
    output = options.outputPath === undefined ? undefined : createWriteStream(options.outputPath);
    let pending = '';
    let bytes = 0;
    let writing = true;

    const flush = async () => {
      if (pending.length === 0) {
        return;
      }
      const chunk = Buffer.from(pending, 'utf8');
      pending = '';
      hash.update(chunk);
      bytes += chunk.length;
      if (output !== undefined && !output.write(chunk)) {
        await once(output, 'drain');
      }
    };

    const handle = async (raw: RawRow) => {
      if (raw.kind === 'error') {
        report.reject({ row: raw.row, line: raw.line, category: raw.category, reason: raw.reason });
      } else if (raw.value === null || typeof raw.value !== 'object' || Array.isArray(raw.value)) {
        report.reject({
          row: raw.row,
          line: raw.line,
          category: 'not-an-object',
          reason: `row must be an object, got ${describeValue(raw.value)}`,
        });
      } else {
        const parsed = schema.safeParse(raw.value);
        if (parsed.success) {
          report.accept();
          if (writing) {
            pending += `${canonicalRow(parsed.data)}\n`;
            if (pending.length >= FLUSH_BYTES) {
              await flush();
            }
          }
        } else {
          report.reject({
            row: raw.row,
            line: raw.line,
            category: 'schema',
            reason: toValidationIssues(parsed.error)
              .map((issue) => `${issue.path}: ${issue.message}`)
              .join('; '),
          });
        }
      }
      if (options.mode === 'strict' && report.invalidRows > 0) {
        // The source is rejected: keep counting issues, stop writing rows.
        writing = false;
        pending = '';
      }
    };

    for (const raw of lookahead) {
      await handle(raw);
    }
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      await handle(next.value);
    }
    await flush();
    if (output !== undefined) {
      const finished = once(output, 'close');
      output.end();
      await finished;
      output = undefined;
    }
    const built = report.build();
    if (built.totalRows === 0) {
      throw tunekitError('DATASET_EMPTY', 'The dataset is empty: it has no rows');
    }
    if (built.invalidRows > 0 && (options.mode === 'strict' || built.validRows === 0)) {
      throw tunekitError(
        'DATASET_INVALID',
        `${built.invalidRows} of ${built.totalRows} rows are invalid` +
          (options.mode === 'strict' ? ' (strict mode)' : ' and none is valid') +
          `: ${formatRowIssues(built.issues)}`,
        { report: built, rowFormat },
      );
    }
    return { rowFormat, sha256: hash.digest('hex'), rowCount: built.validRows, bytes, report: built };
  } finally {
    output?.destroy();
    await iterator.return?.();
  }
}
