import { createSeededRandom, shuffleInPlace } from '../statistics/seeded-random.js';

/** Shares of the rows that go to each split; they add up to 1. */
export interface SplitRatios {
  train: number;
  validation: number;
  test: number;
}

/** Split of each row: 0 train, 1 validation, 2 test. */
export const SplitIndex = { train: 0, validation: 1, test: 2 } as const;

/**
 * Assigns every row to train, validation or test, deterministically for a seed. With labels, the
 * assignment is stratified: each label's rows are shuffled and divided by the ratios on their own,
 * so every split keeps the label distribution (up to rounding). Without labels, all rows form one
 * stratum.
 *
 * @param labels - one label per row (undefined entries form their own stratum), or the row count.
 * @returns one {@link SplitIndex} value per row, in row order.
 */
export function assignSplits(
  labels: readonly (string | undefined)[] | number,
  ratios: SplitRatios,
  seed: number,
): Uint8Array {
  const count = typeof labels === 'number' ? labels : labels.length;
  const strata = new Map<string, number[]>();
  for (let index = 0; index < count; index++) {
    const key =
      typeof labels === 'number' ? '' : `${labels[index] === undefined ? '0' : `1${labels[index]}`}`;
    let members = strata.get(key);
    if (members === undefined) {
      members = [];
      strata.set(key, members);
    }
    members.push(index);
  }
  const random = createSeededRandom(seed);
  const assignment = new Uint8Array(count);
  for (const key of [...strata.keys()].sort()) {
    const members = shuffleInPlace(strata.get(key) as number[], random);
    const size = members.length;
    const validation = Math.min(size, Math.round(size * ratios.validation));
    const test = Math.min(size - validation, Math.round(size * ratios.test));
    members.forEach((row, position) => {
      assignment[row] =
        position < validation
          ? SplitIndex.validation
          : position < validation + test
            ? SplitIndex.test
            : SplitIndex.train;
    });
  }
  return assignment;
}
