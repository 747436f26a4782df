/** One bin of a histogram: `[lower, upper)` (the last bin includes `upper`). */
export interface HistogramBin {
  lower: number;
  upper: number;
  count: number;
}

/** Distribution of a length (characters or tokens) over the rows of a dataset. */
export interface LengthSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  standardDeviation: number;
  /** Linear-interpolated percentiles. */
  percentiles: { p5: number; p25: number; p50: number; p75: number; p90: number; p95: number; p99: number };
  /** Equal-width bins from `min` to `max`. */
  histogram: HistogramBin[];
}

/** The `fraction` quantile (0..1) of ascending `sorted` values, interpolated linearly. */
export function quantile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) {
    return 0;
  }
  const position = (sorted.length - 1) * fraction;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const lowerValue = sorted[lower] as number;
  return lowerValue + ((sorted[upper] as number) - lowerValue) * (position - lower);
}

/**
 * Summarizes lengths: min, max, mean, standard deviation, percentiles and an equal-width histogram.
 *
 * @param bins - histogram bins (default 20; one bin when every value is equal).
 */
export function summarizeLengths(values: ArrayLike<number>, bins = 20): LengthSummary {
  const sorted = Float64Array.from(values).sort();
  const count = sorted.length;
  if (count === 0) {
    return {
      count: 0,
      min: 0,
      max: 0,
      mean: 0,
      standardDeviation: 0,
      percentiles: { p5: 0, p25: 0, p50: 0, p75: 0, p90: 0, p95: 0, p99: 0 },
      histogram: [],
    };
  }
  let sum = 0;
  for (const value of sorted) {
    sum += value;
  }
  const mean = sum / count;
  let squares = 0;
  for (const value of sorted) {
    squares += (value - mean) ** 2;
  }
  const min = sorted[0] as number;
  const max = sorted[count - 1] as number;
  const binCount = min === max ? 1 : Math.max(1, Math.floor(bins));
  const width = (max - min) / binCount;
  const histogram: HistogramBin[] = Array.from({ length: binCount }, (_, index) => ({
    lower: min + index * width,
    upper: index === binCount - 1 ? max : min + (index + 1) * width,
    count: 0,
  }));
  for (const value of sorted) {
    const index = width === 0 ? 0 : Math.min(binCount - 1, Math.floor((value - min) / width));
    (histogram[index] as HistogramBin).count += 1;
  }
  return {
    count,
    min,
    max,
    mean,
    standardDeviation: Math.sqrt(squares / count),
    percentiles: {
      p5: quantile(sorted, 0.05),
      p25: quantile(sorted, 0.25),
      p50: quantile(sorted, 0.5),
      p75: quantile(sorted, 0.75),
      p90: quantile(sorted, 0.9),
      p95: quantile(sorted, 0.95),
      p99: quantile(sorted, 0.99),
    },
    histogram,
  };
}
