import { TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { DynamicLossScaler } from './dynamic-loss-scaler.js';

describe('DynamicLossScaler', () => {
  it("starts at GradScaler's 2^16, halves and skips on an overflow, doubles after 2,000 finite steps", () => {
    const scaler = new DynamicLossScaler();
    expect(scaler.scale).toBe(2 ** 16);
    expect(scaler.update(false)).toBe(false);
    expect(scaler.scale).toBe(2 ** 15);
    for (let step = 1; step < 2000; step += 1) expect(scaler.update(true)).toBe(true);
    expect(scaler.scale).toBe(2 ** 15);
    scaler.update(true);
    expect(scaler.scale).toBe(2 ** 16);
  });

  it('an overflow restarts the count of finite steps', () => {
    const scaler = new DynamicLossScaler({ initialScale: 8, growthInterval: 3 });
    scaler.update(true);
    scaler.update(true);
    scaler.update(false);
    expect(scaler.scale).toBe(4);
    scaler.update(true);
    scaler.update(true);
    expect(scaler.scale).toBe(4);
    scaler.update(true);
    expect(scaler.scale).toBe(8);
  });

  it('saves and restores its state (validated), and validates its settings', () => {
    const scaler = new DynamicLossScaler({ initialScale: 1024, growthInterval: 5, backoffFactor: 0.25 });
    scaler.update(true);
    scaler.update(false);
    scaler.update(true);
    const restored = new DynamicLossScaler({ growthInterval: 5, backoffFactor: 0.25 });
    restored.loadState(scaler.state());
    expect(restored.state()).toEqual({ scale: 256, growthTracker: 1 });
    const code = (build: () => unknown) => {
      try {
        build();
      } catch (error) {
        return TunekitError.isInstance(error) ? error.code : 'uncoded';
      }
      return 'none';
    };
    expect(code(() => restored.loadState({ scale: -1, growthTracker: 0 }))).toBe('VALIDATION_FAILED');
    expect(code(() => new DynamicLossScaler({ backoffFactor: 1 }))).toBe('VALIDATION_FAILED');
    expect(code(() => new DynamicLossScaler({ growthFactor: 1 }))).toBe('VALIDATION_FAILED');
  });
});
