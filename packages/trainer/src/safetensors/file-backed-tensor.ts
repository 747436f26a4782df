import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { tunekitError } from '@tunekit/core';
import { type FloatTensor, shapeSize, type TensorFileRegion } from './tensor-map.js';

/**
 * A float32 tensor whose values stay in their file until something reads `data`: loading a
 * checkpoint this way costs no memory and no copy, and a training graph built from it can let
 * onnxruntime map the file region directly (see `serializeModel`'s `referenceFiles`). The first read
 * of `data` loads the values (synchronously) and keeps them; from then on `file` is `undefined`,
 * since the values may be changed in place. `data`, `shape` and `file` are own enumerable
 * properties, so a spread copy or a structured clone (worker messages) reads the values.
 * Reading a file that changed since the region was recorded throws `SAFETENSORS_INVALID`.
 */
export function fileBackedTensor(shape: readonly number[], region: TensorFileRegion): FloatTensor {
  if (region.length !== shapeSize(shape) * 4) {
    throw tunekitError(
      'SAFETENSORS_INVALID',
      `${region.path}: region of ${region.length} bytes for float32 shape [${shape}]`,
      { path: region.path, shape: [...shape], length: region.length },
    );
  }
  let values: Float32Array | undefined;
  return {
    shape: [...shape],
    get data(): Float32Array {
      values ??= readTensorFileRegion(region);
      return values;
    },
    set data(replacement: Float32Array) {
      values = replacement;
    },
    get file(): TensorFileRegion | undefined {
      return values ? undefined : region;
    },
  };
}

/**
 * Reads a {@link TensorFileRegion} into a new Float32Array, after checking that the file is the one
 * the region was recorded from (same size, modification time and inode); throws
 * `SAFETENSORS_INVALID` otherwise, or when the file ends early.
 */
export function readTensorFileRegion(region: TensorFileRegion): Float32Array {
  const descriptor = openSync(region.path, 'r');
  try {
    assertSameFile(region, fstatSync(descriptor));
    const values = new Float32Array(region.length / 4);
    const bytes = new Uint8Array(values.buffer);
    let done = 0;
    while (done < bytes.byteLength) {
      // readSync reads at most 2 GiB per call.
      const count = Math.min(bytes.byteLength - done, 1 << 30);
      const read = readSync(descriptor, bytes, done, count, region.offset + done);
      if (read === 0) {
        throw tunekitError('SAFETENSORS_INVALID', `${region.path}: unexpected end of file`, {
          path: region.path,
        });
      }
      done += read;
    }
    return values;
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Throws `SAFETENSORS_INVALID` when `stats` (of the file at `region.path` now) are not those the
 * region was recorded with: the checkpoint was replaced or rewritten after it was loaded.
 */
export function assertSameFile(
  region: TensorFileRegion,
  stats: { size: number; mtimeMs: number; ino: number },
): void {
  const { identity } = region;
  if (stats.size !== identity.size || stats.mtimeMs !== identity.mtimeMs || stats.ino !== identity.ino) {
    throw tunekitError(
      'SAFETENSORS_INVALID',
      `${region.path} changed on disk after its tensors were loaded lazily; load the model again`,
      {
        path: region.path,
        recorded: identity,
        now: { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino },
      },
    );
  }
}
