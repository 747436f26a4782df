import type { DataType } from './data-type.js';

/** Values of a constant or initializer: a typed array matching its {@link DataType}. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

/** Converts plain numbers into the typed array of a data type (bool/uint8 as 0/1 bytes). */
export function toTensorData(values: ArrayLike<number>, dtype: DataType): TensorData {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values, (value) => BigInt(Math.trunc(value))));
    case 'int32':
      return Int32Array.from(values);
    case 'bool':
    case 'uint8':
      return Uint8Array.from(values);
    case 'float16':
      throw new Error('float16 constants are written as Uint16Array bits');
  }
}

/** Reads a typed array back as plain numbers (int64 via Number). */
export function tensorDataToNumbers(data: TensorData): number[] {
  return Array.from(data as ArrayLike<number | bigint>, (value) => Number(value));
}
