import {
  chiSquareSurvival,
  normalQuantile,
  normalSurvival,
  studentTQuantile,
  studentTTwoSidedPValue,
} from './distributions.js';
import { logGamma } from './special-functions.js';

/** Count, mean and unbiased sample variance of one group of observations. */
export interface SampleSummary {
  n: number;
  mean: number;
  /** Sample variance with n − 1 in the denominator (0 when n < 2). */
  variance: number;
}

/** Summarizes observations in one pass (Welford). */
export function summarize(values: Iterable<number>): SampleSummary {
  let n = 0;
  let mean = 0;
  let squares = 0;
  for (const value of values) {
    n += 1;
    const delta = value - mean;
    mean += delta / n;
    squares += delta * (value - mean);
  }
  return { n, mean: n === 0 ? Number.NaN : mean, variance: n < 2 ? 0 : squares / (n - 1) };
}

/** A two-sided interval. */
export interface Interval {
  lower: number;
  upper: number;
}

/** Result of a two-sample test of treatment against control. */
export interface TwoSampleTestResult {
  /** Test statistic (z or t), positive when treatment is higher. */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  /** treatment − control. */
  difference: number;
  /** Confidence interval of the difference at level 1 − alpha. */
  differenceInterval: Interval;
  /** Degrees of freedom (Welch–Satterthwaite) for t-tests. */
  degreesOfFreedom?: number;
}

/**
 * Two-proportion z-test (two-sided) with the pooled standard error, as in
 * `statsmodels.stats.proportion.proportions_ztest`; z² equals the uncorrected 2×2 chi-square. The
 * interval of the difference uses the unpooled (Wald) standard error.
 */
export function twoProportionZTest(
  control: { successes: number; trials: number },
  treatment: { successes: number; trials: number },
  alpha = 0.05,
): TwoSampleTestResult {
  const p1 = control.successes / control.trials;
  const p2 = treatment.successes / treatment.trials;
  const pooled = (control.successes + treatment.successes) / (control.trials + treatment.trials);
  const pooledError = Math.sqrt(pooled * (1 - pooled) * (1 / control.trials + 1 / treatment.trials));
  const difference = p2 - p1;
  const statistic =
    pooledError === 0 ? (difference === 0 ? 0 : Math.sign(difference) * Infinity) : difference / pooledError;
  const pValue = pooledError === 0 ? (difference === 0 ? 1 : 0) : 2 * normalSurvival(Math.abs(statistic));
  const unpooledError = Math.sqrt((p1 * (1 - p1)) / control.trials + (p2 * (1 - p2)) / treatment.trials);
  const z = normalQuantile(1 - alpha / 2);
  return {
    statistic,
    pValue,
    difference,
    differenceInterval: { lower: difference - z * unpooledError, upper: difference + z * unpooledError },
  };
}

/**
 * Welch's unequal-variance t-test (two-sided), as `scipy.stats.ttest_ind(treatment, control,
 * equal_var=False)`, with a Welch–Satterthwaite interval of the difference.
 */
export function welchTTest(
  control: SampleSummary,
  treatment: SampleSummary,
  alpha = 0.05,
): TwoSampleTestResult {
  const v1 = control.variance / control.n;
  const v2 = treatment.variance / treatment.n;
  const standardError = Math.sqrt(v1 + v2);
  const difference = treatment.mean - control.mean;
  const degreesOfFreedom = (v1 + v2) ** 2 / (v1 ** 2 / (control.n - 1) + v2 ** 2 / (treatment.n - 1));
  if (standardError === 0 || !Number.isFinite(degreesOfFreedom)) {
    return {
      statistic: difference === 0 ? 0 : Math.sign(difference) * Infinity,
      pValue: difference === 0 ? 1 : 0,
      difference,
      differenceInterval: { lower: difference, upper: difference },
      degreesOfFreedom: Number.isFinite(degreesOfFreedom) ? degreesOfFreedom : undefined,
    };
  }
  const statistic = difference / standardError;
  const critical = studentTQuantile(1 - alpha / 2, degreesOfFreedom);
  return {
    statistic,
    pValue: studentTTwoSidedPValue(statistic, degreesOfFreedom),
    difference,
    differenceInterval: {
      lower: difference - critical * standardError,
      upper: difference + critical * standardError,
    },
    degreesOfFreedom,
  };
}

/** Result of a chi-square goodness-of-fit test. */
export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/**
 * Pearson's chi-square goodness-of-fit test of observed counts against expected proportions (they
 * are normalized to sum to 1), as `scipy.stats.chisquare(observed, expected)`.
 */
export function chiSquareGoodnessOfFit(
  observed: readonly number[],
  expectedProportions: readonly number[],
): ChiSquareResult {
  const total = observed.reduce((sum, value) => sum + value, 0);
  const proportionTotal = expectedProportions.reduce((sum, value) => sum + value, 0);
  let statistic = 0;
  let cells = 0;
  observed.forEach((count, index) => {
    const expected = (total * (expectedProportions[index] ?? 0)) / proportionTotal;
    if (expected > 0) {
      statistic += (count - expected) ** 2 / expected;
      cells += 1;
    } else if (count > 0) {
      statistic = Infinity;
    }
  });
  const degreesOfFreedom = Math.max(1, cells - 1);
  return { statistic, degreesOfFreedom, pValue: chiSquareSurvival(statistic, degreesOfFreedom) };
}

/** Exact two-sided binomial test of `successes` out of `trials` against p = 1/2 (`scipy.stats.binomtest`). */
export function binomialTestHalf(successes: number, trials: number): number {
  if (trials === 0) return 1;
  const smaller = Math.min(successes, trials - successes);
  if (2 * smaller === trials) return 1;
  let tail = 0;
  const logHalfPower = trials * Math.log(0.5);
  for (let index = 0; index <= smaller; index += 1) {
    tail += Math.exp(
      logGamma(trials + 1) - logGamma(index + 1) - logGamma(trials - index + 1) + logHalfPower,
    );
  }
  return Math.min(1, 2 * tail);
}

/** Result of McNemar's test on paired binary outcomes. */
export interface McNemarResult {
  /** `exact-binomial` when the discordant pairs are fewer than the threshold, else `chi-square-continuity`. */
  method: 'exact-binomial' | 'chi-square-continuity';
  /** Pairs where only the first model is right. */
  onlyFirstCorrect: number;
  /** Pairs where only the second model is right. */
  onlySecondCorrect: number;
  /** Chi-square statistic (continuity-corrected) or, for the exact test, the smaller discordant count. */
  statistic: number;
  pValue: number;
}

/**
 * McNemar's test of two classifiers on the same samples. With fewer than `exactBelow` (default 25)
 * discordant pairs it uses the exact binomial test (p = 1/2); otherwise the chi-square statistic
 * with Edwards' continuity correction `(|b − c| − 1)² / (b + c)` on 1 degree of freedom.
 */
export function mcNemarTest(
  onlyFirstCorrect: number,
  onlySecondCorrect: number,
  exactBelow = 25,
): McNemarResult {
  const discordant = onlyFirstCorrect + onlySecondCorrect;
  if (discordant < exactBelow) {
    return {
      method: 'exact-binomial',
      onlyFirstCorrect,
      onlySecondCorrect,
      statistic: Math.min(onlyFirstCorrect, onlySecondCorrect),
      pValue: binomialTestHalf(onlyFirstCorrect, discordant),
    };
  }
  const statistic = (Math.abs(onlyFirstCorrect - onlySecondCorrect) - 1) ** 2 / discordant;
  return {
    method: 'chi-square-continuity',
    onlyFirstCorrect,
    onlySecondCorrect,
    statistic,
    pValue: chiSquareSurvival(statistic, 1),
  };
}

/** t-based confidence interval of a mean (`scipy.stats.t.interval(1 − alpha, n − 1, mean, sem)`). */
export function meanConfidenceInterval(summary: SampleSummary, alpha = 0.05): Interval {
  if (summary.n < 2) return { lower: summary.mean, upper: summary.mean };
  const half = studentTQuantile(1 - alpha / 2, summary.n - 1) * Math.sqrt(summary.variance / summary.n);
  return { lower: summary.mean - half, upper: summary.mean + half };
}

/** Wald (normal-approximation) confidence interval of a proportion. */
export function proportionConfidenceInterval(successes: number, trials: number, alpha = 0.05): Interval {
  if (trials === 0) return { lower: Number.NaN, upper: Number.NaN };
  const p = successes / trials;
  const half = normalQuantile(1 - alpha / 2) * Math.sqrt((p * (1 - p)) / trials);
  return { lower: Math.max(0, p - half), upper: Math.min(1, p + half) };
}
