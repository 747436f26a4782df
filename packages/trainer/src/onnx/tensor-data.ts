import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
} from '../safetensors/float-conversion.js';
import type { DataType } from './data-type.js';

/** Values of a constant or initializer: a typed array matching its {@link DataType}. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

/**
 * Converts plain numbers into the typed array of a data type (bool/uint8 as 0/1 bytes; float16 and
 * bfloat16 as their bits in a Uint16Array, rounded to nearest even).
 */
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
      return float32ArrayToFloat16(values instanceof Float32Array ? values : Float32Array.from(values));
    case 'bfloat16':
      return float32ArrayToBfloat16(values instanceof Float32Array ? values : Float32Array.from(values));
  }
}

/** Reads a typed array back as plain numbers (int64 via Number; float16/bfloat16 bits decoded). */
export function tensorDataToNumbers(data: TensorData, dtype?: DataType): number[] {
  if (dtype === 'float16') return Array.from(data as Uint16Array, float16ToFloat32);
  if (dtype === 'bfloat16') return Array.from(data as Uint16Array, bfloat16ToFloat32);
  return Array.from(data as ArrayLike<number | bigint>, (value) => Number(value));
}
