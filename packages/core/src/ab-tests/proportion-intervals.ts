import { normalQuantile } from '../statistics/distributions.js';
import { type Interval, proportionConfidenceInterval } from '../statistics/hypothesis-tests.js';

/** How binary results' intervals are computed. */
export type BinaryIntervalMethod = 'wilson' | 'wald';

/** Successes out of trials. */
export interface ProportionCount {
  successes: number;
  trials: number;
}

/**
 * Wilson score interval of a proportion (Wilson 1927): the proportions p whose score test
 * |p̂ − p| / √(p(1 − p)/n) does not reject at level alpha. Unlike the Wald interval it stays
 * inside [0, 1], is not degenerate at 0 or n successes, and keeps close to its nominal coverage for
 * small n or rates near 0 and 1 (Newcombe 1998a, method 3; Brown, Cai and DasGupta 2001).
 */
export function wilsonScoreInterval(successes: number, trials: number, alpha = 0.05): Interval {
  if (trials === 0) return { lower: Number.NaN, upper: Number.NaN };
  const z = normalQuantile(1 - alpha / 2);
  const zSquared = z * z;
  const p = successes / trials;
  const denominator = 1 + zSquared / trials;
  const center = (p + zSquared / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + zSquared / (4 * trials * trials));
  return {
    lower: successes === 0 ? 0 : Math.max(0, center - half),
    upper: successes === trials ? 1 : Math.min(1, center + half),
  };
}

/**
 * Newcombe's hybrid score interval of the difference of two proportions, treatment − control
 * (Newcombe 1998b, method 10), from the two Wilson intervals at the same level:
 * lower = d − √((p_t − l_t)² + (u_c − p_c)²), upper = d + √((u_t − p_t)² + (p_c − l_c)²).
 * Coverage stays near nominal where the Wald interval of the difference is too narrow (small
 * samples, rates near 0 or 1).
 */
export function newcombeDifferenceInterval(
  control: ProportionCount,
  treatment: ProportionCount,
  alpha = 0.05,
): Interval {
  const pControl = control.successes / control.trials;
  const pTreatment = treatment.successes / treatment.trials;
  const controlInterval = wilsonScoreInterval(control.successes, control.trials, alpha);
  const treatmentInterval = wilsonScoreInterval(treatment.successes, treatment.trials, alpha);
  const difference = pTreatment - pControl;
  return {
    lower:
      difference -
      Math.sqrt((pTreatment - treatmentInterval.lower) ** 2 + (controlInterval.upper - pControl) ** 2),
    upper:
      difference +
      Math.sqrt((treatmentInterval.upper - pTreatment) ** 2 + (pControl - controlInterval.lower) ** 2),
  };
}

/** Confidence interval of a proportion by `method` (Wald clipped to [0, 1], or Wilson). */
export function proportionInterval(
  successes: number,
  trials: number,
  alpha: number,
  method: BinaryIntervalMethod,
): Interval {
  return method === 'wald'
    ? proportionConfidenceInterval(successes, trials, alpha)
    : wilsonScoreInterval(successes, trials, alpha);
}
