import { tunekitError } from '@tunekit/core';

/** The vector scaled to unit length, in float64 (a zero vector stays zero). */
export function normalize(vector: ArrayLike<number>): Float64Array {
  const result = Float64Array.from(vector);
  let norm = 0;
  for (const value of result) norm += value * value;
  if (norm > 0) {
    const scale = 1 / Math.sqrt(norm);
    for (let index = 0; index < result.length; index += 1) result[index] = (result[index] as number) * scale;
  }
  return result;
}

/** How many components are not zero. */
export function countNonZero(vector: ArrayLike<number>): number {
  let count = 0;
  for (let index = 0; index < vector.length; index += 1) if (vector[index] !== 0) count += 1;
  return count;
}

/** The dot product of two vectors of the same length. */
export function dot(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < left.length; index += 1)
    sum += (left[index] as number) * (right[index] as number);
  return sum;
}

/** Throws a coded `VALIDATION_FAILED` error unless the vector has `dimensions` components. */
export function checkDimensions(vector: ArrayLike<number>, dimensions: number): void {
  if (vector.length !== dimensions) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Expected a vector of ${dimensions} dimensions, got ${vector.length}`,
      { expected: dimensions, actual: vector.length },
    );
  }
}
