import { describe, expect, it } from 'vitest';
import { bootstrapIndices, percentileInterval, quantileSorted } from './bootstrap.js';
import {
  chiSquareSurvival,
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
} from './distributions.js';
import {
  chiSquareGoodnessOfFit,
  mcNemarTest,
  meanConfidenceInterval,
  summarize,
  twoProportionZTest,
  welchTTest,
} from './hypothesis-tests.js';
import { loadEvaluationReference } from './reference-fixture.js';

const reference = loadEvaluationReference();

/** Relative-or-absolute closeness. */
function expectClose(actual: number, expected: number, tolerance = 1e-9) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected)));
}

describe('distributions against scipy', () => {
  for (const entry of reference.distributions.cases) {
    it(`${entry.kind}(${entry.x}${entry.df === undefined ? '' : `, df=${entry.df}`})`, () => {
      const compute = {
        t_cdf: () => studentTCdf(entry.x, entry.df),
        t_ppf: () => studentTQuantile(entry.x, entry.df),
        norm_ppf: () => normalQuantile(entry.x),
        norm_cdf: () => normalCdf(entry.x),
        chi2_sf: () => chiSquareSurvival(entry.x, entry.df),
      }[entry.kind as string] as () => number;
      // Tail probabilities are compared relatively.
      const actual = compute();
      if (entry.value !== 0 && Math.abs(entry.value) < 1e-3) {
        expect(Math.abs(actual - entry.value) / entry.value).toBeLessThan(1e-7);
      } else {
        // Quantiles are found by bisection on the CDF: 1e-8 relative.
        expectClose(actual, entry.value, entry.kind === 't_ppf' ? 1e-8 : 1e-9);
      }
    });
  }
});

describe("Welch's t-test against scipy.stats.ttest_ind(equal_var=False)", () => {
  reference.welch.cases.forEach((entry: Record<string, number[] & number>, index: number) => {
    it(`case ${index}`, () => {
      const control = summarize(entry.control as number[]);
      const treatment = summarize(entry.treatment as number[]);
      const result = welchTTest(control, treatment);
      expectClose(result.statistic, entry.statistic, 1e-10);
      expectClose(result.pValue, entry.pValue, 1e-9);
      expectClose(result.degreesOfFreedom as number, entry.degreesOfFreedom, 1e-10);
      expectClose(result.differenceInterval.lower, (entry.differenceInterval as number[])[0] as number, 1e-9);
      expectClose(result.differenceInterval.upper, (entry.differenceInterval as number[])[1] as number, 1e-9);
      const interval = meanConfidenceInterval(control);
      expectClose(interval.lower, (entry.controlMeanInterval as number[])[0] as number, 1e-9);
      expectClose(interval.upper, (entry.controlMeanInterval as number[])[1] as number, 1e-9);
    });
  });
});

describe('two-proportion z-test against scipy', () => {
  for (const entry of reference.twoProportion.cases) {
    it(`${entry.control} vs ${entry.treatment}`, () => {
      const result = twoProportionZTest(
        { successes: entry.control[0], trials: entry.control[1] },
        { successes: entry.treatment[0], trials: entry.treatment[1] },
      );
      expectClose(result.statistic, entry.statistic, 1e-10);
      expectClose(result.pValue, entry.pValue, 1e-9);
    });
  }
});

describe('chi-square goodness of fit against scipy.stats.chisquare', () => {
  for (const entry of reference.chiSquare.cases) {
    it(`${entry.observed} ~ ${entry.weights}`, () => {
      const result = chiSquareGoodnessOfFit(entry.observed, entry.weights);
      expectClose(result.statistic, entry.statistic, 1e-10);
      if (entry.pValue < 1e-3)
        expect(Math.abs(result.pValue - entry.pValue) / entry.pValue).toBeLessThan(1e-7);
      else expectClose(result.pValue, entry.pValue, 1e-9);
    });
  }
});

describe("McNemar's test against scipy", () => {
  for (const entry of reference.mcnemar.cases) {
    it(`b=${entry.onlyFirst} c=${entry.onlySecond} (${entry.method})`, () => {
      const result = mcNemarTest(entry.onlyFirst, entry.onlySecond);
      expect(result.method).toBe(entry.method);
      expectClose(result.statistic, entry.statistic, 1e-12);
      if (entry.pValue < 1e-3)
        expect(Math.abs(result.pValue - entry.pValue) / entry.pValue).toBeLessThan(1e-7);
      else expectClose(result.pValue, entry.pValue, 1e-10);
    });
  }
});

describe('percentiles and bootstrap', () => {
  it('quantiles match numpy.percentile (linear)', () => {
    const sorted = [...(reference.percentiles.values as number[])].sort((a, b) => a - b);
    expectClose(quantileSorted(sorted, 0.5), reference.percentiles.p50, 1e-12);
    expectClose(quantileSorted(sorted, 0.95), reference.percentiles.p95, 1e-12);
    expectClose(quantileSorted(sorted, 0.99), reference.percentiles.p99, 1e-12);
  });

  it('is deterministic for a seed and covers the mean of a known distribution', () => {
    const values = Array.from({ length: 400 }, (_, index) => (index % 10 < 3 ? 1 : 0)); // p = 0.3
    const replicate = (seed: number) => {
      const means: number[] = [];
      bootstrapIndices(values.length, { resamples: 500, seed }, (indices) => {
        let sum = 0;
        for (const index of indices) sum += values[index] as number;
        means.push(sum / indices.length);
      });
      return percentileInterval(means);
    };
    const first = replicate(7);
    expect(replicate(7)).toEqual(first);
    expect(replicate(8)).not.toEqual(first);
    // Normal-theory 95% interval of p = 0.3, n = 400 is 0.3 ± 0.0449.
    expect(first.lower).toBeGreaterThan(0.24);
    expect(first.lower).toBeLessThan(0.27);
    expect(first.upper).toBeGreaterThan(0.33);
    expect(first.upper).toBeLessThan(0.36);
  });
});
