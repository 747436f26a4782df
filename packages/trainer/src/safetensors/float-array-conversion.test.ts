import { describe, expect, it } from 'vitest';
import {
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16,
  float32ToFloat16,
} from './float-conversion.js';

describe('float32ArrayToFloat16 / float32ArrayToBfloat16', () => {
  it('give the bits of the element-wise conversions (rounding, subnormals, overflow, inf, NaN, signed zero)', () => {
    const special = [0, -0, 1, -1, 65504, 65520, 1e6, -1e6, 6e-8, 3e-8, 1e-10, 2 ** -14, 1.0001, 0.1];
    const values = Float32Array.from([
      ...special,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      ...Array.from({ length: 5000 }, (_, index) => Math.sin(index * 12.9898) * 10 ** ((index % 17) - 9)),
    ]);
    const half = float32ArrayToFloat16(values);
    const brain = float32ArrayToBfloat16(values);
    values.forEach((value, index) => {
      expect(half[index], `float16 of ${value}`).toBe(float32ToFloat16(value));
      expect(brain[index], `bfloat16 of ${value}`).toBe(float32ToBfloat16(value));
    });
  });

  it('read a Float32Array that is a view into a larger buffer', () => {
    const buffer = Float32Array.from([9, 1.5, -2.25, 9]);
    const view = buffer.subarray(1, 3);
    expect(Array.from(float32ArrayToFloat16(view))).toEqual([float32ToFloat16(1.5), float32ToFloat16(-2.25)]);
  });
});
