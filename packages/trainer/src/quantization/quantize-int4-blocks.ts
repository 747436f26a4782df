import { tunekitError } from '@tunekit/core';

/**
 * A matrix `W` `[rows, columns]` stored as signed 4-bit codes per block of `blockSize` consecutive
 * values of a row, in onnxruntime's `MatMulNBits` layout: `data` `[rows, columns / blockSize,
 * blockSize / 2]` (two codes per byte, the even column in the low nibble, each code stored as
 * `q + 8`, i.e. zero point 8), `scales` `[rows, columns / blockSize]` float32.
 */
export interface Int4BlockMatrix {
  rows: number;
  columns: number;
  blockSize: number;
  data: Uint8Array;
  scales: Float32Array;
}

/** Float32 `round half to even`, as `torch.round` and `numpy.round` do. */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5) return floor + 1;
  if (difference < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Quantizes a row-major float32 matrix `[rows, columns]` to symmetric int4 per block of `blockSize`
 * values along a row (the reduction axis of `x·Wᵀ`). For each block, with `m` the value of largest
 * magnitude (the first one on ties, sign kept), `scale = fround(m / −8)` and
 * `q = clamp(roundHalfToEven(fround(w / scale)), −8, 7)`, so `m` itself maps to −8 exactly and
 * the 16 levels `−8 … 7` are all used (onnxruntime's own `MlasQ4GemmPackB` rule); a block of zeros
 * gets scale 0 and codes 0. Dequantized values are `fround(q · scale)`. Every operation is a
 * float32 operation, so PyTorch reproduces the codes bit for bit (`tests/golden/qlora.py`).
 * The error per value is at most `|scale| / 2 = |m| / 16`, except for values of the sign opposite
 * to `m` with magnitude above `15/16·|m|`, which clamp to +7 (error up to `|scale|`).
 */
export function quantizeInt4Blocks(
  values: Float32Array,
  rows: number,
  columns: number,
  blockSize: number,
): Int4BlockMatrix {
  if (values.length !== rows * columns || columns % blockSize !== 0 || blockSize % 2 !== 0) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Cannot quantize a [${rows}, ${columns}] matrix in blocks of ${blockSize}: the block size must divide the ${columns} columns`,
      { rows, columns, blockSize, length: values.length },
    );
  }
  const blocksPerRow = columns / blockSize;
  const data = new Uint8Array((rows * columns) / 2);
  const scales = new Float32Array(rows * blocksPerRow);
  for (let block = 0; block < rows * blocksPerRow; block += 1) {
    const start = block * blockSize;
    let extreme = 0;
    for (let offset = 0; offset < blockSize; offset += 1) {
      const value = values[start + offset] as number;
      if (Math.abs(value) > Math.abs(extreme)) extreme = value;
    }
    const scale = Math.fround(extreme / -8);
    scales[block] = scale;
    for (let offset = 0; offset < blockSize; offset += 2) {
      const low = quantizeValue(values[start + offset] as number, scale);
      const high = quantizeValue(values[start + offset + 1] as number, scale);
      data[(start + offset) / 2] = (low + 8) | ((high + 8) << 4);
    }
  }
  return { rows, columns, blockSize, data, scales };
}

function quantizeValue(value: number, scale: number): number {
  if (scale === 0) return 0;
  return Math.min(7, Math.max(-8, roundHalfToEven(Math.fround(value / scale))));
}

/** The float32 matrix `[rows, columns]` an {@link Int4BlockMatrix} stands for: `fround(q · scale)`. */
export function dequantizeInt4Blocks(matrix: Int4BlockMatrix): Float32Array {
  const { rows, columns, blockSize, data, scales } = matrix;
  const values = new Float32Array(rows * columns);
  for (let index = 0; index < values.length; index += 2) {
    const byte = data[index / 2] as number;
    const scale = scales[Math.floor(index / blockSize)] as number;
    values[index] = ((byte & 0x0f) - 8) * scale;
    values[index + 1] = ((byte >> 4) - 8) * scale;
  }
  return values;
}

/** Transposes a row-major float32 matrix `[rows, columns]` into `[columns, rows]`. */
export function transposeMatrix(values: Float32Array, rows: number, columns: number): Float32Array {
  const transposed = new Float32Array(values.length);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1) {
      transposed[column * rows + row] = values[row * columns + column] as number;
    }
  }
  return transposed;
}

/** Bytes an {@link Int4BlockMatrix} occupies (codes and scales). */
export function int4BlockMatrixBytes(matrix: Int4BlockMatrix): number {
  return matrix.data.byteLength + matrix.scales.byteLength;
}
