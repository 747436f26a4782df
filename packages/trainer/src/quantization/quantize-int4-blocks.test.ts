import { describe, expect, it } from 'vitest';
import { createNormalSampler } from '../models/create-normal-sampler.js';
import {
  dequantizeInt4Blocks,
  int4BlockMatrixBytes,
  quantizeInt4Blocks,
  roundHalfToEven,
  transposeMatrix,
} from './quantize-int4-blocks.js';

function randomMatrix(length: number, seed: number): Float32Array {
  const normal = createNormalSampler(seed);
  return Float32Array.from({ length }, () => normal() * 0.02);
}

describe('quantizeInt4Blocks', () => {
  it('rounds half to even like torch.round', () => {
    expect(
      [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, 2.6, -7.5].map((value) => roundHalfToEven(value) + 0),
    ).toEqual([-2, -2, 0, 0, 2, 2, 2, 3, -8]);
  });

  it('packs two codes per byte, low nibble first, zero point 8, and maps the extreme value to −8', () => {
    const values = Float32Array.from([0.5, -1, 0.25, 4, 0, -4, 3.5, 1.75, ...new Array(8).fill(0)]);
    const matrix = quantizeInt4Blocks(values, 1, 16, 16);
    // Extreme value 4 (first of ±4): scale −0.5, so q = [−1, 2, −0.5→0 (even), −8, 0, 8→7, −7, −3.5→−4].
    expect(matrix.scales[0]).toBe(-0.5);
    const codes = Array.from(matrix.data.slice(0, 4), (byte) => [(byte & 15) - 8, (byte >> 4) - 8]).flat();
    expect(codes).toEqual([-1, 2, 0, -8, 0, 7, -7, -4]);
    expect(Array.from(dequantizeInt4Blocks(matrix).slice(0, 8), (value) => value + 0)).toEqual([
      0.5, -1, 0, 4, 0, -3.5, 3.5, 2,
    ]);
    expect(matrix.data.slice(4).every((byte) => byte === 0x88)).toBe(true);
  });

  it('round trip: within |scale|/2 (|scale| = block max / 8), |scale| for clamped values of the other sign; zeros exact', () => {
    for (const blockSize of [16, 32, 64, 128]) {
      const rows = 24;
      const columns = 256;
      const values = randomMatrix(rows * columns, blockSize);
      values.fill(0, 0, blockSize); // one all-zero block
      const matrix = quantizeInt4Blocks(values, rows, columns, blockSize);
      const restored = dequantizeInt4Blocks(matrix);
      let squaredError = 0;
      let squaredNorm = 0;
      for (let index = 0; index < values.length; index += 1) {
        const scale = Math.abs(matrix.scales[Math.floor(index / blockSize)] as number);
        const error = Math.abs((restored[index] as number) - (values[index] as number));
        // The extreme value m maps to −8; values of the other sign above 7.5·|scale| clamp to +7.
        const clamped = Math.abs(values[index] as number) > 7.5 * scale;
        expect(error).toBeLessThanOrEqual((clamped ? scale : scale / 2) + 1e-9);
        squaredError += error ** 2;
        squaredNorm += (values[index] as number) ** 2;
      }
      expect(Array.from(restored.slice(0, blockSize), (value) => value + 0)).toEqual(
        new Array(blockSize).fill(0),
      );
      // Gaussian weights: about 9% (block 16) to 11% (block 128) relative RMS error.
      const relative = Math.sqrt(squaredError / squaredNorm);
      expect(relative).toBeGreaterThan(0.05);
      expect(relative).toBeLessThan(0.14);
      // 4 bits per value + one float32 scale per block.
      expect(int4BlockMatrixBytes(matrix)).toBe((rows * columns) / 2 + (rows * columns * 4) / blockSize);
    }
  });

  it('is idempotent: quantizing dequantized values gives the same codes and scales', () => {
    const values = randomMatrix(8 * 64, 3);
    const matrix = quantizeInt4Blocks(values, 8, 64, 32);
    const again = quantizeInt4Blocks(dequantizeInt4Blocks(matrix), 8, 64, 32);
    expect(again.scales).toEqual(matrix.scales);
    expect(again.data).toEqual(matrix.data);
  });

  it('rejects a block size that does not divide the columns', () => {
    expect(() => quantizeInt4Blocks(new Float32Array(48), 1, 48, 32)).toThrow(/block size must divide/);
  });

  it('transposeMatrix swaps rows and columns', () => {
    expect(Array.from(transposeMatrix(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3))).toEqual([
      1, 4, 2, 5, 3, 6,
    ]);
  });
});
