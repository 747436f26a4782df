import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileBackedTensor } from './file-backed-tensor.js';
import { float16ToFloat32, float32ToFloat16 } from './float-conversion.js';
import { SafetensorsReader, writeSafetensors } from './safetensors-file.js';
import type { TensorMap } from './tensor-map.js';

describe('fileBackedTensor', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tunekit-file-backed-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const tensors: TensorMap = new Map([
    ['first', { shape: [3], data: Float32Array.from([1, 2, 3]) }],
    ['second', { shape: [2, 2], data: Float32Array.from([-1.5, 0.25, 1e-7, 65504]) }],
  ]);

  it('leaves an F32 tensor in its file until `data` is read, then keeps the values and drops `file`', async () => {
    const path = join(directory, 'lazy.safetensors');
    await writeSafetensors(path, tensors);
    const reader = await SafetensorsReader.open(path);
    const second = await reader.readLazily('second');
    await reader.close();
    expect(second.shape).toEqual([2, 2]);
    expect(second.file).toMatchObject({ path, length: 16 });
    // The region is where the values lie: the data section starts after the 8-byte length + header.
    expect(second.file?.offset).toBe(reader.header.dataStart + 12);
    expect(Array.from(second.data)).toEqual(Array.from(tensors.get('second')?.data ?? []));
    expect(second.file).toBeUndefined();
    second.data[0] = 42;
    expect(second.data[0]).toBe(42);
    // A spread copy (or a structured clone) carries the values.
    const copy = { ...(await (await SafetensorsReader.open(path)).readLazily('first')) };
    expect(Array.from(copy.data)).toEqual([1, 2, 3]);
  });

  it('reads F16 tensors at once (they are converted) and refuses a file rewritten since loading', async () => {
    const path = join(directory, 'mixed.safetensors');
    await writeSafetensors(path, tensors, { dtypes: new Map([['second', 'F16']]) });
    const reader = await SafetensorsReader.open(path);
    const first = await reader.readLazily('first');
    const second = await reader.readLazily('second');
    await reader.close();
    expect(second.file).toBeUndefined();
    expect(Array.from(second.data)).toEqual([-1.5, 0.25, float16ToFloat32(float32ToFloat16(1e-7)), 65504]);
    expect(first.file).toBeDefined();
    // writeSafetensors replaces the file (new inode): the lazy tensor must not read the new bytes.
    await writeSafetensors(path, new Map([['first', { shape: [3], data: new Float32Array(3) }]]));
    expect(() => first.data).toThrowError(expect.objectContaining({ code: 'SAFETENSORS_INVALID' }));
  });

  it('refuses a region whose length does not match the shape', () => {
    expect(() =>
      fileBackedTensor([2, 2], {
        path: '/nowhere',
        offset: 0,
        length: 12,
        identity: { size: 12, mtimeMs: 0, ino: 0 },
      }),
    ).toThrowError(expect.objectContaining({ code: 'SAFETENSORS_INVALID' }));
  });
});
