import type { RowFormat } from '../schemas/dataset-row.js';
import { canonicalRow } from './canonical-row.js';
import type { DatasetComparison, LabelShare } from './dataset-comparison.js';
import type { TokenCounter } from './dataset-stats.js';
import { populationStabilityIndex } from './population-stability-index.js';
import { rowDigest } from './row-digest.js';
import { rowInput, rowLabel, rowText } from './row-text.js';

/** One side of a comparison: a version's id, row format and rows. */
export interface ComparedVersion {
  id: string;
  rowFormat: RowFormat;
  rows: AsyncIterable<unknown>;
}

interface Profile {
  count: number;
  characterLengths: number[];
  tokenLengths: number[];
  labels: Map<string, number>;
}

async function profile(
  side: ComparedVersion,
  tokenize: TokenCounter | undefined,
  visit: (row: unknown) => void,
): Promise<Profile> {
  const result: Profile = { count: 0, characterLengths: [], tokenLengths: [], labels: new Map() };
  for await (const row of side.rows) {
    result.count += 1;
    const text = rowText(row, side.rowFormat);
    result.characterLengths.push(text.length);
    if (tokenize !== undefined) {
      const tokens = await tokenize(text);
      result.tokenLengths.push(typeof tokens === 'number' ? tokens : tokens.length);
    }
    const label = rowLabel(row, side.rowFormat);
    if (label !== undefined) {
      result.labels.set(label, (result.labels.get(label) ?? 0) + 1);
    }
    visit(row);
  }
  return result;
}

/**
 * Compares two versions in one pass over each: exact overlap of rows and inputs (leakage of A into
 * B), label shift and the population stability index of lengths.
 */
export async function compareDatasets(
  a: ComparedVersion,
  b: ComparedVersion,
  options: { tokenize?: TokenCounter; bins?: number } = {},
): Promise<DatasetComparison> {
  const rowsOfA = new Set<string>();
  const inputsOfA = new Set<string>();
  const profileA = await profile(a, options.tokenize, (row) => {
    rowsOfA.add(rowDigest(canonicalRow(row)));
    inputsOfA.add(rowDigest(rowInput(row, a.rowFormat)));
  });
  let overlappingRows = 0;
  let overlappingInputs = 0;
  const profileB = await profile(b, options.tokenize, (row) => {
    if (rowsOfA.has(rowDigest(canonicalRow(row)))) {
      overlappingRows += 1;
    }
    if (inputsOfA.has(rowDigest(rowInput(row, b.rowFormat)))) {
      overlappingInputs += 1;
    }
  });
  const fraction = (count: number) => (profileB.count === 0 ? 0 : count / profileB.count);
  let labelShift: DatasetComparison['labelShift'];
  if (a.rowFormat === 'classification' && b.rowFormat === 'classification') {
    const names = [...new Set([...profileA.labels.keys(), ...profileB.labels.keys()])].sort();
    const labels: LabelShare[] = names.map((label) => {
      const shareA = profileA.count === 0 ? 0 : (profileA.labels.get(label) ?? 0) / profileA.count;
      const shareB = profileB.count === 0 ? 0 : (profileB.labels.get(label) ?? 0) / profileB.count;
      return { label, a: shareA, b: shareB, difference: shareB - shareA };
    });
    labelShift = {
      labels,
      totalVariationDistance: labels.reduce((sum, share) => sum + Math.abs(share.difference), 0) / 2,
      unseenLabels: names.filter((label) => !profileA.labels.has(label)),
    };
  }
  return {
    versionA: a.id,
    versionB: b.id,
    rowCounts: { a: profileA.count, b: profileB.count },
    overlap: {
      rows: overlappingRows,
      inputs: overlappingInputs,
      rowFractionOfB: fraction(overlappingRows),
      inputFractionOfB: fraction(overlappingInputs),
    },
    labelShift,
    characterLengthStability: populationStabilityIndex(
      profileA.characterLengths,
      profileB.characterLengths,
      options.bins,
    ),
    tokenLengthStability:
      options.tokenize === undefined
        ? undefined
        : populationStabilityIndex(profileA.tokenLengths, profileB.tokenLengths, options.bins),
  };
}
