import { z } from 'zod';
import type { ABTestUnit, SuccessMetric } from '../schemas/ab-test.js';
import type { SampleSummary } from '../statistics/hypothesis-tests.js';
import {
  addDoubleDouble,
  DoubleDoubleSchema,
  divideDoubleDouble,
  doubleDoubleValue,
  multiplyDoubleDouble,
  squareToDoubleDouble,
  subtractDoubleDouble,
  toDoubleDouble,
} from './double-double.js';

/**
 * Sufficient statistics of one variant: everything `results` needs, kept up to date as outcomes
 * arrive so that results cost O(variants) instead of a scan of every unit. Sums are double-double
 * (see {@link DoubleDoubleSchema}) so that replacing a unit's value (its outcomes accumulate) does
 * not erode precision.
 */
export const VariantStatisticsSchema = z.object({
  /** Enrolled units (exposed or with an outcome): the sample-ratio check's counts. */
  units: z.number().int().min(0),
  /** Units in the analysis: every enrolled unit for binary metrics, units with an outcome otherwise. */
  n: z.number().int().min(0),
  /** Σ unit value over the `n` units (binary: conversions). */
  sum: DoubleDoubleSchema,
  /** Σ unit value² over the `n` units. */
  sumOfSquares: DoubleDoubleSchema,
});
/** Sufficient statistics of one variant. */
export type VariantStatistics = z.infer<typeof VariantStatisticsSchema>;

/** The outcome fields of a unit that decide its value. */
export type UnitOutcomes = Pick<ABTestUnit, 'outcomeCount' | 'outcomeSum' | 'outcomeMax'>;

/** Statistics of a variant with no units. */
export function emptyVariantStatistics(): VariantStatistics {
  return { units: 0, n: 0, sum: [0, 0], sumOfSquares: [0, 0] };
}

/**
 * A unit's value for the success metric: conversion (0/1, every unit), the total of its outcomes
 * (numeric) or the mean of its ratings (rating); undefined for a numeric or rating unit without an
 * outcome, which stays out of the analysis.
 */
export function unitMetricValue(kind: SuccessMetric['kind'], unit: UnitOutcomes): number | undefined {
  if (kind === 'binary') return unit.outcomeMax !== null && unit.outcomeMax > 0 ? 1 : 0;
  if (unit.outcomeCount === 0) return undefined;
  return kind === 'numeric' ? unit.outcomeSum : unit.outcomeSum / unit.outcomeCount;
}

/** Adds (`sign` 1) or removes (`sign` −1) one unit's contribution. */
function accumulate(
  statistics: VariantStatistics,
  kind: SuccessMetric['kind'],
  unit: UnitOutcomes,
  sign: 1 | -1,
): VariantStatistics {
  const value = unitMetricValue(kind, unit);
  if (value === undefined) return { ...statistics, units: statistics.units + sign };
  const square = squareToDoubleDouble(value);
  return {
    units: statistics.units + sign,
    n: statistics.n + sign,
    sum: addDoubleDouble(statistics.sum, toDoubleDouble(sign * value)),
    sumOfSquares: addDoubleDouble(statistics.sumOfSquares, sign === 1 ? square : [-square[0], -square[1]]),
  };
}

/**
 * The statistics after a unit moved from `before` (undefined: it did not exist) to `after`
 * (undefined: it was removed). Both must belong to the variant these statistics describe.
 */
export function applyUnitChange(
  statistics: VariantStatistics,
  kind: SuccessMetric['kind'],
  before: UnitOutcomes | undefined,
  after: UnitOutcomes | undefined,
): VariantStatistics {
  let next = statistics;
  if (before !== undefined) next = accumulate(next, kind, before, -1);
  if (after !== undefined) next = accumulate(next, kind, after, 1);
  return next;
}

/** Whether moving a unit from `before` to `after` leaves the statistics unchanged (an exposure, a repeated conversion). */
export function isNeutralUnitChange(
  kind: SuccessMetric['kind'],
  before: UnitOutcomes | undefined,
  after: UnitOutcomes,
): boolean {
  if (before === undefined) return false;
  return unitMetricValue(kind, before) === unitMetricValue(kind, after);
}

/** The statistics of two disjoint sets of units together. */
export function mergeVariantStatistics(a: VariantStatistics, b: VariantStatistics): VariantStatistics {
  return {
    units: a.units + b.units,
    n: a.n + b.n,
    sum: addDoubleDouble(a.sum, b.sum),
    sumOfSquares: addDoubleDouble(a.sumOfSquares, b.sumOfSquares),
  };
}

/**
 * Count, mean and unbiased variance from the sums, in double-double arithmetic: equal to
 * `summarize` (Welford) over the same unit values to ~1e-15 relative for any realistic data.
 */
export function summarizeVariantStatistics(statistics: VariantStatistics): SampleSummary {
  const { n } = statistics;
  if (n <= 0) return { n: 0, mean: Number.NaN, variance: 0 };
  const mean = doubleDoubleValue(divideDoubleDouble(statistics.sum, n));
  if (n < 2) return { n, mean, variance: 0 };
  const centered = subtractDoubleDouble(
    statistics.sumOfSquares,
    divideDoubleDouble(multiplyDoubleDouble(statistics.sum, statistics.sum), n),
  );
  const variance = doubleDoubleValue(divideDoubleDouble(centered, n - 1));
  return { n, mean, variance: variance > 0 ? variance : 0 };
}
