import type { Interval } from './hypothesis-tests.js';
import { createSeededRandom } from './seeded-random.js';

/** Options of {@link bootstrapIndices}. */
export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling (default 0): the same seed gives the same intervals. */
  seed?: number;
}

/**
 * Draws `resamples` bootstrap resamples of `n` items (indices drawn with replacement) with a seeded
 * generator, calling `visit` with each. Paired bootstraps call several statistics with the same
 * indices.
 */
export function bootstrapIndices(
  n: number,
  options: BootstrapOptions,
  visit: (indices: Uint32Array) => void,
): void {
  const random = createSeededRandom(options.seed ?? 0);
  const indices = new Uint32Array(n);
  const resamples = options.resamples ?? 1000;
  for (let resample = 0; resample < resamples; resample += 1) {
    for (let index = 0; index < n; index += 1) indices[index] = Math.floor(random() * n);
    visit(indices);
  }
}

/**
 * Percentile interval of bootstrap replicates at level 1 − alpha, with linear interpolation between
 * order statistics (numpy's default `percentile` method). Non-finite replicates are ignored.
 */
export function percentileInterval(replicates: readonly number[], alpha = 0.05): Interval {
  const sorted = replicates.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return { lower: Number.NaN, upper: Number.NaN };
  return { lower: quantileSorted(sorted, alpha / 2), upper: quantileSorted(sorted, 1 - alpha / 2) };
}

/** Quantile `q` in [0, 1] of ascending values, interpolating linearly (numpy `linear` method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  const fraction = position - below;
  return (sorted[below] as number) + ((sorted[above] as number) - (sorted[below] as number)) * fraction;
}
