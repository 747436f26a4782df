import { quantile } from './length-summary.js';

/**
 * One bin of a population stability index: the share of each population in `[lower, upper)`;
 * `lower` is absent on the first bin and `upper` on the last (open ends).
 */
export interface StabilityBin {
  lower?: number;
  upper?: number;
  expected: number;
  actual: number;
}

/** Population stability index of a numeric distribution, with its bins. */
export interface PopulationStability {
  /** Σ (actual − expected) · ln(actual / expected) over the bins. */
  index: number;
  /** `< 0.1` stable, `< 0.25` moderate shift, otherwise significant shift (the usual reading). */
  interpretation: 'stable' | 'moderate shift' | 'significant shift';
  bins: StabilityBin[];
}

const FLOOR = 1e-4;

/**
 * The population stability index (PSI) of `actual` against `expected`, with bins at the quantiles
 * of `expected` (deciles by default; repeated edges merged). Empty shares are floored at 1e-4 so the
 * logarithm stays finite.
 */
export function populationStabilityIndex(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  binCount = 10,
): PopulationStability {
  const sortedExpected = Float64Array.from(expected).sort();
  const edges: number[] = [];
  for (let index = 1; index < binCount; index++) {
    const edge = quantile(sortedExpected, index / binCount);
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) {
      edges.push(edge);
    }
  }
  const share = (values: ArrayLike<number>) => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (let index = 0; index < values.length; index++) {
      const value = values[index] as number;
      // First edge strictly above the value: bins are [edge_i-1, edge_i).
      let low = 0;
      let high = edges.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((edges[middle] as number) <= value) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      counts[low] = (counts[low] as number) + 1;
    }
    return counts.map((count) => (values.length === 0 ? 0 : count / values.length));
  };
  const expectedShares = share(expected);
  const actualShares = share(actual);
  let index = 0;
  const bins: StabilityBin[] = expectedShares.map((expectedShare, bin) => {
    const actualShare = actualShares[bin] as number;
    const e = Math.max(expectedShare, FLOOR);
    const a = Math.max(actualShare, FLOOR);
    index += (a - e) * Math.log(a / e);
    return {
      lower: bin === 0 ? undefined : (edges[bin - 1] as number),
      upper: bin === edges.length ? undefined : (edges[bin] as number),
      expected: expectedShare,
      actual: actualShare,
    };
  });
  return {
    index,
    interpretation: index < 0.1 ? 'stable' : index < 0.25 ? 'moderate shift' : 'significant shift',
    bins,
  };
}
