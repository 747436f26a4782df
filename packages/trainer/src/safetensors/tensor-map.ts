/** A dense float32 tensor in row-major order, the unit the trainer moves weights around in. */
export interface FloatTensor {
  /** Dimensions, outermost first (`[]` for a scalar). */
  shape: number[];
  /** Row-major values; its length is the product of `shape`. */
  data: Float32Array;
}

/** Tensors by name (Hugging Face / PEFT tensor names), in insertion order. */
export type TensorMap = Map<string, FloatTensor>;

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}
