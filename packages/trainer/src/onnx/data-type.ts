/** Element types the graph builder handles, named as onnxruntime-node names tensor types. */
export type DataType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'bool' | 'uint8';

/** ONNX `TensorProto.DataType` numbers of each {@link DataType}. */
export const ONNX_DATA_TYPES: Readonly<Record<DataType, number>> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

/** Bytes per element of each {@link DataType}. */
export const DATA_TYPE_SIZES: Readonly<Record<DataType, number>> = {
  float32: 4,
  uint8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  bfloat16: 2,
};

/** Whether gradients can flow through values of this type. */
export function isFloatingType(dtype: DataType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}
