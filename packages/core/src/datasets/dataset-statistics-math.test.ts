import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../statistics/seeded-random.js';
import { assignSplits, SplitIndex } from './assign-splits.js';
import { quantile, summarizeLengths } from './length-summary.js';
import { populationStabilityIndex } from './population-stability-index.js';

describe('createSeededRandom', () => {
  it('is mulberry32: reproducible for a seed, different across seeds', () => {
    const first = createSeededRandom(42);
    const second = createSeededRandom(42);
    const sequence = Array.from({ length: 5 }, () => first());
    expect(Array.from({ length: 5 }, () => second())).toEqual(sequence);
    // Pinned values: changing the generator would silently change every existing split.
    expect(sequence[0]).toBeCloseTo(0.6011037519201636, 15);
    expect(sequence[1]).toBeCloseTo(0.44829055899754167, 15);
    expect(createSeededRandom(43)()).not.toBe(sequence[0]);
  });
});

describe('quantile and summarizeLengths', () => {
  it('interpolates percentiles linearly (numpy "linear")', () => {
    const sorted = [1, 2, 3, 4, 10];
    expect(quantile(sorted, 0.5)).toBe(3);
    expect(quantile(sorted, 0.9)).toBeCloseTo(7.6, 12);
    expect(quantile(sorted, 0.25)).toBe(2);
  });

  it('summarizes min/max/mean/standard deviation and bins every value', () => {
    const summary = summarizeLengths([2, 4, 4, 4, 5, 5, 7, 9], 7);
    expect(summary).toMatchObject({ count: 8, min: 2, max: 9, mean: 5, standardDeviation: 2 });
    expect(summary.histogram.map((bin) => bin.count)).toEqual([1, 0, 3, 2, 0, 1, 1]);
    expect(summarizeLengths([3, 3, 3]).histogram).toEqual([{ lower: 3, upper: 3, count: 3 }]);
    expect(summarizeLengths([]).count).toBe(0);
  });
});

describe('populationStabilityIndex', () => {
  it('is 0 for the same distribution and matches a hand computation for a shifted one', () => {
    const expected = Array.from({ length: 100 }, (_, index) => index);
    expect(populationStabilityIndex(expected, expected).index).toBeCloseTo(0, 12);
    // Two bins split at the median (49.5): expected 50/50, actual 20/80.
    const actual = [...Array.from({ length: 20 }, () => 10), ...Array.from({ length: 80 }, () => 90)];
    const result = populationStabilityIndex(expected, actual, 2);
    const handComputed = (0.2 - 0.5) * Math.log(0.2 / 0.5) + (0.8 - 0.5) * Math.log(0.8 / 0.5);
    expect(result.index).toBeCloseTo(handComputed, 12);
    expect(result.bins).toEqual([
      { lower: undefined, upper: 49.5, expected: 0.5, actual: 0.2 },
      { lower: 49.5, upper: undefined, expected: 0.5, actual: 0.8 },
    ]);
    expect(result.interpretation).toBe('significant shift');
  });
});

describe('assignSplits', () => {
  it('keeps every label in proportion and is reproducible', () => {
    const labels = Array.from({ length: 1000 }, (_, index) =>
      index % 4 === 0 ? 'a' : index % 4 === 1 ? 'b' : 'c',
    );
    const ratios = { train: 0.7, validation: 0.2, test: 0.1 };
    const assignment = assignSplits(labels, ratios, 7);
    expect(assignSplits(labels, ratios, 7)).toEqual(assignment);
    const count = (label: string, split: number) =>
      labels.filter((value, index) => value === label && assignment[index] === split).length;
    expect([
      count('a', SplitIndex.train),
      count('a', SplitIndex.validation),
      count('a', SplitIndex.test),
    ]).toEqual([175, 50, 25]);
    expect([
      count('c', SplitIndex.train),
      count('c', SplitIndex.validation),
      count('c', SplitIndex.test),
    ]).toEqual([350, 100, 50]);
    // Shuffled, not the first rows of each label.
    expect(assignment.slice(0, 40).every((split) => split === SplitIndex.train)).toBe(false);
  });

  it('splits a row count without labels', () => {
    const assignment = assignSplits(10, { train: 0.6, validation: 0.4, test: 0 }, 3);
    expect(assignment.filter((split) => split === SplitIndex.validation)).toHaveLength(4);
    expect(assignment.filter((split) => split === SplitIndex.test)).toHaveLength(0);
  });
});
