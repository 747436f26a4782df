import { expect } from 'vitest';

/**
 * Norm-based relative error ‖actual − expected‖ / ‖expected‖ used by the PyTorch golden tests
 * (the 1e-5 criterion); fails the test when the lengths differ.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let difference = 0;
  let norm = 0;
  for (let index = 0; index < expected.length; index += 1) {
    difference += ((actual[index] as number) - (expected[index] as number)) ** 2;
    norm += (expected[index] as number) ** 2;
  }
  return Math.sqrt(difference) / Math.max(Math.sqrt(norm), 1e-30);
}
