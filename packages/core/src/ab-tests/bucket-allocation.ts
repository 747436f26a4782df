import { tunekitError } from '../errors/tunekit-error.js';
import { AB_TEST_BUCKETS, type BucketRange } from '../schemas/ab-test.js';

/**
 * Whole bucket counts proportional to `weights` that add up to 10000 (largest-remainder method;
 * ties go to the earlier variant).
 */
export function bucketCounts(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (!(total > 0) || weights.some((weight) => !(weight >= 0) || !Number.isFinite(weight))) {
    throw tunekitError('VALIDATION_FAILED', 'Variant weights must be finite, non-negative and not all zero', {
      issues: [{ path: 'variants.weight', message: 'must be finite, >= 0, with a positive sum' }],
    });
  }
  const exact = weights.map((weight) => (weight / total) * AB_TEST_BUCKETS);
  const counts = exact.map((value) => Math.floor(value));
  let missing = AB_TEST_BUCKETS - counts.reduce((sum, count) => sum + count, 0);
  const order = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of order) {
    if (missing === 0) break;
    counts[index] = (counts[index] as number) + 1;
    missing -= 1;
  }
  return counts;
}

/** Owner variant of every bucket (a lookup table for assignment). */
export function bucketTable(allocation: readonly BucketRange[]): Uint8Array {
  const table = new Uint8Array(AB_TEST_BUCKETS);
  for (const range of allocation) table.fill(range.variant, range.start, range.end);
  return table;
}

function toRanges(owners: Uint8Array): BucketRange[] {
  const ranges: BucketRange[] = [];
  let start = 0;
  for (let bucket = 1; bucket <= owners.length; bucket += 1) {
    if (bucket === owners.length || owners[bucket] !== owners[start]) {
      ranges.push({ variant: owners[start] as number, start, end: bucket });
      start = bucket;
    }
  }
  return ranges;
}

/** The initial allocation: contiguous ranges in variant order (GrowthBook's cumulative layout). */
export function allocateBuckets(weights: readonly number[]): BucketRange[] {
  const counts = bucketCounts(weights);
  const ranges: BucketRange[] = [];
  let start = 0;
  counts.forEach((count, variant) => {
    if (count > 0) ranges.push({ variant, start, end: start + count });
    start += count;
  });
  return ranges;
}

/**
 * Re-allocates buckets for new weights, moving as few as possible: each variant whose share shrinks
 * gives up exactly its surplus (its highest buckets first), and those freed buckets go to the
 * variants whose share grows. Every other bucket keeps its owner, so the share of units that change
 * variant is the total-variation distance between the old and new weights (sum of the decreases),
 * the minimum any assignment can achieve. Recomputing cumulative ranges instead (GrowthBook) can
 * move far more: 3 equal variants → 50/25/25 moves 1/6 of units here, 1/3 with cumulative ranges.
 *
 * @returns the new ranges and how many buckets changed owner.
 */
export function reallocateBuckets(
  current: readonly BucketRange[],
  weights: readonly number[],
): { allocation: BucketRange[]; movedBuckets: number } {
  const target = bucketCounts(weights);
  const owners = bucketTable(current);
  const have = new Array<number>(weights.length).fill(0);
  for (const owner of owners) have[owner] = (have[owner] as number) + 1;
  const FREE = 255;
  let movedBuckets = 0;
  for (let bucket = owners.length - 1; bucket >= 0; bucket -= 1) {
    const owner = owners[bucket] as number;
    if ((have[owner] as number) > (target[owner] as number)) {
      have[owner] = (have[owner] as number) - 1;
      owners[bucket] = FREE;
      movedBuckets += 1;
    }
  }
  let variant = 0;
  for (let bucket = 0; bucket < owners.length; bucket += 1) {
    if (owners[bucket] !== FREE) continue;
    while ((have[variant] as number) >= (target[variant] as number)) variant += 1;
    owners[bucket] = variant;
    have[variant] = (have[variant] as number) + 1;
  }
  return { allocation: toRanges(owners), movedBuckets };
}
