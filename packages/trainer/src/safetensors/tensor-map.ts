/**
 * Where a tensor's float32 values already lie in a file (a safetensors checkpoint stored as F32):
 * `length` little-endian bytes from byte `offset`. Graph serialization can point onnxruntime at
 * this region (ONNX external data) instead of copying the values.
 */
export interface TensorFileRegion {
  /** Absolute path of the file. */
  path: string;
  /** Byte offset of the first value from the start of the file. */
  offset: number;
  /** Byte length (4 × the number of values). */
  length: number;
  /**
   * The file's identity when the region was recorded (`stat` size, modification time and inode);
   * a file replaced or rewritten since then is refused rather than read.
   */
  identity: { size: number; mtimeMs: number; ino: number };
}

/** A dense float32 tensor in row-major order, the unit the trainer moves weights around in. */
export interface FloatTensor {
  /** Dimensions, outermost first (`[]` for a scalar). */
  shape: number[];
  /** Row-major values; its length is the product of `shape`. */
  data: Float32Array;
  /**
   * Set while `data` is known to equal these bytes of a file, i.e. for a tensor loaded lazily
   * (see `fileBackedTensor`) whose values have not been read yet: once `data` is read the values
   * may be changed in place, so the region no longer vouches for them and this is `undefined`.
   */
  readonly file?: TensorFileRegion;
}

/** Tensors by name (Hugging Face / PEFT tensor names), in insertion order. */
export type TensorMap = Map<string, FloatTensor>;

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}
