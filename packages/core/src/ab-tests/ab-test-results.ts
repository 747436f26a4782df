import type { ABTest, ABTestUnit } from '../schemas/ab-test.js';
import {
  chiSquareGoodnessOfFit,
  type Interval,
  meanConfidenceInterval,
  type SampleSummary,
  twoProportionZTest,
  welchTTest,
} from '../statistics/hypothesis-tests.js';
import {
  type BinaryIntervalMethod,
  newcombeDifferenceInterval,
  proportionInterval,
} from './proportion-intervals.js';
import {
  applyUnitChange,
  emptyVariantStatistics,
  summarizeVariantStatistics,
  unitMetricValue,
  type VariantStatistics,
} from './variant-statistics.js';

/** Results of one variant. */
export interface ABVariantResult {
  name: string;
  modelId: string;
  /** Share of traffic in the current allocation. */
  weight: number;
  /** Units enrolled (exposed or with an outcome). */
  exposures: number;
  /** Units in the analysis: all enrolled units for binary metrics, units with an outcome otherwise. */
  n: number;
  mean: number | null;
  /**
   * Confidence interval of the mean at level 1 − alpha: for binary metrics the Wilson score
   * interval of the rate (or Wald, with `binaryIntervals: 'wald'`), Student t otherwise.
   */
  interval: Interval | null;
  /** (mean − control mean) / control mean; null for control or when the control mean is 0. */
  lift: number | null;
  /**
   * mean − control mean, with its interval at level 1 − correctedAlpha: for binary metrics
   * Newcombe's hybrid score interval (or Wald), Welch–Satterthwaite otherwise; null for control.
   */
  difference: number | null;
  differenceInterval: Interval | null;
  /** Two-sided p-value against control (two-proportion z-test or Welch's t-test); null for control. */
  pValue: number | null;
  /** p < alpha / (number of treatments) (Bonferroni). */
  significant: boolean;
}

/** The sample-ratio-mismatch check. */
export interface SampleRatioCheck {
  /** False when some variant has fewer than 8 units (GrowthBook's minimum), or weights changed. */
  checked: boolean;
  statistic: number | null;
  pValue: number | null;
  /** True when p < 0.001: the split is broken (bad hashing, filtering, logging); no winner is declared. */
  flagged: boolean;
}

/** What `results(testId)` returns. */
export interface ABTestResults {
  testId: string;
  status: ABTest['status'];
  metric: ABTest['successMetric'];
  test: 'two-proportion-z' | 'welch-t';
  /**
   * How the intervals were computed: `wilson` (binary: Wilson score per variant, Newcombe's hybrid
   * score for differences), `wald` (binary, on request) or `student-t` (numeric and rating metrics).
   */
  intervalMethod: BinaryIntervalMethod | 'student-t';
  alpha: number;
  /** alpha / (variants − 1). */
  correctedAlpha: number;
  variants: ABVariantResult[];
  sampleRatio: SampleRatioCheck;
  /** Every variant has at least `minSamplesPerVariant` units in the analysis. */
  enoughSamples: boolean;
  /** Winning variant name, or null. */
  winner: string | null;
  reason: 'insufficient-samples' | 'sample-ratio-mismatch' | 'significant' | 'not-significant';
  computedAt: string;
}

/** Options of {@link computeABTestResults} and `kit.abTests.results`. */
export interface ABTestResultsOptions {
  /**
   * Intervals for binary metrics: `wilson` (default) gives each variant's Wilson score interval and
   * Newcombe's hybrid score interval for the difference; `wald` the normal-approximation ones.
   */
  binaryIntervals?: BinaryIntervalMethod;
  /** Time stamp of the results (default now). */
  now?: Date;
}

/** The p-value threshold below which the SRM check flags a test (GrowthBook's default). */
export const SRM_THRESHOLD = 0.001;

/** Per-unit value of the success metric: conversion (0/1), total (numeric) or mean rating. */
export function unitValue(test: ABTest, unit: ABTestUnit): number | undefined {
  return unitMetricValue(test.successMetric.kind, unit);
}

/** Per-variant sufficient statistics of a set of unit records (units of unknown variants are ignored). */
export function variantStatisticsOfUnits(test: ABTest, units: Iterable<ABTestUnit>): VariantStatistics[] {
  const index = new Map(test.variants.map((variant, position) => [variant.name, position]));
  const statistics = test.variants.map(() => emptyVariantStatistics());
  for (const unit of units) {
    const position = index.get(unit.variant);
    if (position === undefined) continue;
    statistics[position] = applyUnitChange(
      statistics[position] as VariantStatistics,
      test.successMetric.kind,
      undefined,
      unit,
    );
  }
  return statistics;
}

/** Variant weights (shares) of the current allocation. */
export function allocationShares(test: ABTest): number[] {
  const shares = new Array<number>(test.variants.length).fill(0);
  for (const range of test.allocation)
    shares[range.variant] = (shares[range.variant] as number) + (range.end - range.start) / 10_000;
  return shares;
}

/**
 * Computes per-variant statistics from unit records (a full scan) and the results of
 * {@link computeABTestResultsFromStatistics}.
 */
export function computeABTestResults(
  test: ABTest,
  units: Iterable<ABTestUnit>,
  now = new Date(),
  options: ABTestResultsOptions = {},
): ABTestResults {
  return computeABTestResultsFromStatistics(test, variantStatisticsOfUnits(test, units), { now, ...options });
}

/**
 * Tests every treatment against control (the first variant) from per-variant sufficient
 * statistics, runs the SRM chi-square check on enrolled units against the allocation, and picks a
 * winner when every variant reached `minSamplesPerVariant`, the split is sound and a difference is
 * significant. O(variants).
 */
export function computeABTestResultsFromStatistics(
  test: ABTest,
  statistics: readonly VariantStatistics[],
  options: ABTestResultsOptions = {},
): ABTestResults {
  const now = options.now ?? new Date();
  const binaryIntervals = options.binaryIntervals ?? 'wilson';
  const exposures = test.variants.map((_, position) => statistics[position]?.units ?? 0);
  const binary = test.successMetric.kind === 'binary';
  const increase = test.successMetric.direction !== 'decrease';
  const correctedAlpha = test.alpha / Math.max(1, test.variants.length - 1);
  const summaries: SampleSummary[] = test.variants.map((_, position) =>
    summarizeVariantStatistics(statistics[position] ?? emptyVariantStatistics()),
  );
  // Binary: the sum of 0/1 unit values is the exact number of conversions.
  const conversions = test.variants.map((_, position) => {
    const sum = statistics[position]?.sum ?? [0, 0];
    return Math.round(sum[0] + sum[1]);
  });
  const control = summaries[0] as SampleSummary;
  const shares = allocationShares(test);

  const variants: ABVariantResult[] = test.variants.map((variant, position) => {
    const summary = summaries[position] as SampleSummary;
    const successes = binary ? (conversions[position] as number) : 0;
    const interval =
      summary.n === 0
        ? null
        : binary
          ? proportionInterval(successes, summary.n, test.alpha, binaryIntervals)
          : meanConfidenceInterval(summary, test.alpha);
    const result: ABVariantResult = {
      name: variant.name,
      modelId: variant.modelId,
      weight: shares[position] as number,
      exposures: exposures[position] as number,
      n: summary.n,
      mean: summary.n === 0 ? null : summary.mean,
      interval,
      lift: null,
      difference: null,
      differenceInterval: null,
      pValue: null,
      significant: false,
    };
    if (position === 0 || summary.n < 2 || control.n < 2) return result;
    const controlCount = { successes: conversions[0] as number, trials: control.n };
    const treatmentCount = { successes, trials: summary.n };
    const tested = binary
      ? twoProportionZTest(controlCount, treatmentCount, correctedAlpha)
      : welchTTest(control, summary, correctedAlpha);
    result.difference = tested.difference;
    result.differenceInterval =
      binary && binaryIntervals === 'wilson'
        ? newcombeDifferenceInterval(controlCount, treatmentCount, correctedAlpha)
        : tested.differenceInterval;
    result.pValue = tested.pValue;
    result.lift = control.mean === 0 ? null : tested.difference / control.mean;
    result.significant = tested.pValue < correctedAlpha;
    return result;
  });

  const checkable = exposures.every((count, position) => count >= 8 || (shares[position] as number) === 0);
  const sampleRatio: SampleRatioCheck = { checked: false, statistic: null, pValue: null, flagged: false };
  if (checkable) {
    const kept = shares
      .map((share, position) => ({ share, count: exposures[position] as number }))
      .filter((entry) => entry.share > 0);
    const outside = shares.reduce(
      (sum, share, position) => sum + (share === 0 ? (exposures[position] as number) : 0),
      0,
    );
    const srm = chiSquareGoodnessOfFit(
      kept.map((entry) => entry.count),
      kept.map((entry) => entry.share),
    );
    sampleRatio.checked = true;
    sampleRatio.statistic = srm.statistic;
    sampleRatio.pValue = outside > 0 ? 0 : srm.pValue;
    sampleRatio.flagged = (sampleRatio.pValue as number) < SRM_THRESHOLD;
  }

  const enoughSamples = variants.every((variant) => variant.n >= test.minSamplesPerVariant);
  let winner: string | null = null;
  let reason: ABTestResults['reason'];
  if (!enoughSamples) reason = 'insufficient-samples';
  else if (sampleRatio.flagged) reason = 'sample-ratio-mismatch';
  else {
    const better = (difference: number) => (increase ? difference > 0 : difference < 0);
    const winners = variants.filter(
      (variant, position) => position > 0 && variant.significant && better(variant.difference as number),
    );
    if (winners.length > 0) {
      winners.sort((a, b) =>
        increase ? (b.mean as number) - (a.mean as number) : (a.mean as number) - (b.mean as number),
      );
      winner = (winners[0] as ABVariantResult).name;
    } else if (
      variants.slice(1).every((variant) => variant.significant && !better(variant.difference as number))
    ) {
      winner = (variants[0] as ABVariantResult).name;
    }
    reason = winner === null ? 'not-significant' : 'significant';
  }
  return {
    testId: test.id,
    status: test.status,
    metric: test.successMetric,
    test: binary ? 'two-proportion-z' : 'welch-t',
    intervalMethod: binary ? binaryIntervals : 'student-t',
    alpha: test.alpha,
    correctedAlpha,
    variants,
    sampleRatio,
    enoughSamples,
    winner,
    reason,
    computedAt: now.toISOString(),
  };
}
