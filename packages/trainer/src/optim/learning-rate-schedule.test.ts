import { describe, expect, it } from 'vitest';
import { clipGradientNorm, globalGradientNorm } from './clip-gradient-norm.js';
import { LearningRateScheduleSchema, learningRateFactor } from './learning-rate-schedule.js';

describe('learningRateFactor', () => {
  it('warms up linearly then decays linearly to zero', () => {
    const schedule = LearningRateScheduleSchema.parse({ kind: 'linear', warmupSteps: 10 });
    expect(learningRateFactor(schedule, 0, 110)).toBe(0);
    expect(learningRateFactor(schedule, 5, 110)).toBe(0.5);
    expect(learningRateFactor(schedule, 10, 110)).toBe(1);
    expect(learningRateFactor(schedule, 60, 110)).toBeCloseTo(0.5, 12);
    expect(learningRateFactor(schedule, 110, 110)).toBe(0);
  });

  it('follows a half cosine with an optional floor', () => {
    const schedule = LearningRateScheduleSchema.parse({ kind: 'cosine', warmupSteps: 0, minimumRatio: 0.1 });
    expect(learningRateFactor(schedule, 0, 100)).toBeCloseTo(1, 12);
    expect(learningRateFactor(schedule, 50, 100)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(learningRateFactor(schedule, 100, 100)).toBeCloseTo(0.1, 12);
  });

  it('stays constant after warmup', () => {
    const schedule = LearningRateScheduleSchema.parse({ kind: 'constant', warmupSteps: 4 });
    expect(learningRateFactor(schedule, 2, 10)).toBe(0.5);
    expect(learningRateFactor(schedule, 9, 10)).toBe(1);
  });
});

describe('clipGradientNorm', () => {
  it('scales all gradients together to the maximum norm', () => {
    const gradients = [Float32Array.from([3, 0]), Float32Array.from([4])];
    const norm = clipGradientNorm(gradients, 1);
    expect(norm).toBe(5);
    expect(globalGradientNorm(gradients)).toBeCloseTo(1, 5);
    expect(gradients[0]?.[0]).toBeCloseTo(0.6, 5);
  });

  it('leaves small gradients alone and reports non-finite norms', () => {
    const gradients = [Float32Array.from([0.3, 0.4])];
    expect(clipGradientNorm(gradients, 1)).toBeCloseTo(0.5, 6);
    expect(gradients[0]?.[0]).toBeCloseTo(0.3, 6);
    expect(clipGradientNorm([Float32Array.from([Number.NaN])], 1)).toBeNaN();
  });
});
