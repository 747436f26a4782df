import type { RowFormat } from '../schemas/dataset-row.js';
import { canonicalRow } from './canonical-row.js';
import type { DatasetStats, DatasetStatsOptions } from './dataset-stats.js';
import { summarizeLengths } from './length-summary.js';
import { rowDigest } from './row-digest.js';
import { rowInput, rowLabel, rowText } from './row-text.js';

/**
 * Computes {@link DatasetStats} in one pass over the rows. Memory: one number per row per length
 * measure, plus a 16-character key per distinct row and per distinct input.
 */
export async function computeDatasetStats(
  rows: AsyncIterable<unknown>,
  version: { id: string; rowFormat: RowFormat; bytes: number; sourceBytes?: number },
  options: DatasetStatsOptions = {},
): Promise<DatasetStats> {
  const nearEmptyMaxCharacters = options.nearEmptyMaxCharacters ?? 3;
  const characterLengths: number[] = [];
  const tokenLengths: number[] = [];
  const labels = new Map<string, number>();
  const seenRows = new Set<string>();
  const seenInputs = new Set<string>();
  let duplicateRows = 0;
  let duplicateInputs = 0;
  let nearEmptyRows = 0;
  let rowCount = 0;
  for await (const row of rows) {
    rowCount += 1;
    const text = rowText(row, version.rowFormat);
    characterLengths.push(text.length);
    if (text.replace(/\s+/g, '').length <= nearEmptyMaxCharacters) {
      nearEmptyRows += 1;
    }
    if (options.tokenize !== undefined) {
      const tokens = await options.tokenize(text);
      tokenLengths.push(typeof tokens === 'number' ? tokens : tokens.length);
    }
    const label = rowLabel(row, version.rowFormat);
    if (label !== undefined) {
      labels.set(label, (labels.get(label) ?? 0) + 1);
    }
    const rowKey = rowDigest(canonicalRow(row));
    if (seenRows.has(rowKey)) {
      duplicateRows += 1;
    } else {
      seenRows.add(rowKey);
    }
    const inputKey = rowDigest(rowInput(row, version.rowFormat));
    if (seenInputs.has(inputKey)) {
      duplicateInputs += 1;
    } else {
      seenInputs.add(inputKey);
    }
  }
  const bins = options.histogramBins ?? 20;
  return {
    versionId: version.id,
    rowFormat: version.rowFormat,
    rowCount,
    bytes: version.bytes,
    sourceBytes: version.sourceBytes,
    labels:
      version.rowFormat === 'classification'
        ? Object.fromEntries([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : undefined,
    characters: summarizeLengths(characterLengths, bins),
    tokens: options.tokenize === undefined ? undefined : summarizeLengths(tokenLengths, bins),
    duplicates: { rows: duplicateRows, distinctRows: seenRows.size },
    duplicateInputs,
    nearEmptyRows,
    nearEmptyMaxCharacters,
  };
}
