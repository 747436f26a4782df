import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdamW } from './adamw.js';

interface GoldenCase {
  name: string;
  options: { betas: [number, number]; epsilon: number; weightDecay: number; decoupledWeightDecay: boolean };
  initial: number[][];
  gradients: number[][][];
  learningRates: number[];
  parametersAfterStep: number[][][];
}

const golden = JSON.parse(
  readFileSync(new URL('../../../../tests/golden/adamw.json', import.meta.url), 'utf8'),
) as { steps: number; cases: GoldenCase[] };

describe('AdamW', () => {
  for (const testCase of golden.cases) {
    it(`matches torch over ${golden.steps} steps: ${testCase.name}`, () => {
      const parameters = testCase.initial.map((values) => Float32Array.from(values));
      const optimizer = new AdamW(parameters, { ...testCase.options, learningRate: 1e-2 });
      let worst = 0;
      testCase.gradients.forEach((gradients, step) => {
        optimizer.update(
          gradients.map((values) => Float32Array.from(values)),
          testCase.learningRates[step],
        );
        testCase.parametersAfterStep[step]?.forEach((expected, index) => {
          const actual = parameters[index] as Float32Array;
          expected.forEach((value, i) => {
            const relative = Math.abs((actual[i] as number) - value) / Math.max(Math.abs(value), 1e-3);
            worst = Math.max(worst, relative);
          });
        });
      });
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it('saves and restores its state so that later updates are identical', () => {
    const make = () => [Float32Array.from([1, -2, 3]), Float32Array.from([0.5])];
    const gradient = (step: number) => [Float32Array.from([step, -step, 0.1]), Float32Array.from([step * 2])];
    const reference = make();
    const referenceOptimizer = new AdamW(reference, { learningRate: 0.1 });
    for (let step = 1; step <= 6; step++) referenceOptimizer.update(gradient(step));

    const first = make();
    const firstOptimizer = new AdamW(first, { learningRate: 0.1 });
    for (let step = 1; step <= 3; step++) firstOptimizer.update(gradient(step));
    const resumed = first.map((parameter) => parameter.slice());
    const resumedOptimizer = new AdamW(resumed, { learningRate: 0.1 });
    resumedOptimizer.loadState(firstOptimizer.state());
    for (let step = 4; step <= 6; step++) resumedOptimizer.update(gradient(step));
    expect(resumed).toEqual(reference);
    expect(resumedOptimizer.step).toBe(6);
  });

  it('without bias correction takes smaller first steps', () => {
    const corrected = [Float32Array.from([1])];
    const uncorrected = [Float32Array.from([1])];
    new AdamW(corrected, { learningRate: 0.1, weightDecay: 0 }).update([Float32Array.from([1])]);
    new AdamW(uncorrected, { learningRate: 0.1, weightDecay: 0, biasCorrection: false }).update([
      Float32Array.from([1]),
    ]);
    // corrected: 1 - 0.1 * 1 / (1 + 1e-8); uncorrected: 1 - 0.1 * 0.1 / (sqrt(0.001) + 1e-8)
    expect(corrected[0]?.[0]).toBeCloseTo(0.9, 6);
    expect(uncorrected[0]?.[0]).toBeCloseTo(1 - 0.01 / Math.sqrt(0.001), 5);
  });

  it('rejects invalid options and mismatched gradients', () => {
    expect(() => new AdamW([new Float32Array(1)], { betas: [1.5, 0.9] })).toThrow();
    expect(() => new AdamW([new Float32Array(2)]).update([new Float32Array(3)])).toThrow(/values/);
  });
});
