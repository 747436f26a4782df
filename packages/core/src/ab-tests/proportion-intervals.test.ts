import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newcombeDifferenceInterval, wilsonScoreInterval } from './proportion-intervals.js';

interface WilsonCase {
  successes: number;
  trials: number;
  alpha: number;
  lower: number;
  upper: number;
}
interface NewcombeCase {
  treatment: [number, number];
  control: [number, number];
  alpha: number;
  lower: number;
  upper: number;
}

const reference = JSON.parse(
  readFileSync(
    new URL('../../../../tests/golden/fixtures/proportion-intervals-reference.json', import.meta.url),
    'utf8',
  ),
) as { wilson: { cases: WilsonCase[] }; newcombe: { cases: NewcombeCase[] } };

/** |actual − expected| ≤ 1e-9 relative (absolute near 0). */
function expectClose(actual: number, expected: number) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

describe('Wilson score interval (tests/golden/proportion_intervals_reference.py, score-test roots)', () => {
  it(`matches ${reference.wilson.cases.length} reference intervals to 1e-9`, () => {
    for (const entry of reference.wilson.cases) {
      const interval = wilsonScoreInterval(entry.successes, entry.trials, entry.alpha);
      expectClose(interval.lower, entry.lower);
      expectClose(interval.upper, entry.upper);
    }
  });
  it('stays inside [0, 1], exact at 0 and n successes, empty without trials', () => {
    expect(wilsonScoreInterval(0, 20)).toMatchObject({ lower: 0 });
    expect(wilsonScoreInterval(20, 20)).toMatchObject({ upper: 1 });
    expect(wilsonScoreInterval(0, 20).upper).toBeCloseTo(0.1611, 4); // Newcombe (1998a)
    const interval = wilsonScoreInterval(81, 263);
    expect([interval.lower, interval.upper].map((bound) => Number(bound.toFixed(4)))).toEqual([
      0.2553, 0.3662,
    ]);
    expect(Number.isNaN(wilsonScoreInterval(0, 0).lower)).toBe(true);
  });
});

describe("Newcombe's hybrid score interval of a difference (method 10)", () => {
  it(`matches ${reference.newcombe.cases.length} reference intervals to 1e-9`, () => {
    for (const entry of reference.newcombe.cases) {
      const interval = newcombeDifferenceInterval(
        { successes: entry.control[0], trials: entry.control[1] },
        { successes: entry.treatment[0], trials: entry.treatment[1] },
        entry.alpha,
      );
      expectClose(interval.lower, entry.lower);
      expectClose(interval.upper, entry.upper);
    }
  });
  it("reproduces Newcombe (1998)'s worked example 56/70 − 48/80", () => {
    const interval = newcombeDifferenceInterval({ successes: 48, trials: 80 }, { successes: 56, trials: 70 });
    expect(interval.lower).toBeCloseTo(0.05243147, 8);
    expect(interval.upper).toBeCloseTo(0.3338727, 7);
  });
});
