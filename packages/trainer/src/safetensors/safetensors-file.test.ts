import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
} from './float-conversion.js';
import { readSafetensors, SafetensorsReader, writeSafetensors } from './safetensors-file.js';
import type { TensorMap } from './tensor-map.js';

describe('safetensors', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tunekit-safetensors-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const tensors: TensorMap = new Map([
    ['a.weight', { shape: [2, 3], data: Float32Array.from([1, -2.5, 3.25, 0, 1e-3, 65504]) }],
    ['scalar', { shape: [], data: Float32Array.from([7]) }],
  ]);

  it('round-trips F32 bit-exactly with an 8-byte aligned data section and metadata', async () => {
    const path = join(directory, 'f32.safetensors');
    await writeSafetensors(path, tensors, { metadata: { format: 'pt', note: 'x' } });
    const bytes = await readFile(path);
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
    const reader = await SafetensorsReader.open(path);
    expect(reader.names).toEqual(['a.weight', 'scalar']);
    expect(reader.header.metadata).toEqual({ format: 'pt', note: 'x' });
    expect((await reader.read('a.weight')).data).toEqual(tensors.get('a.weight')?.data);
    await reader.close();
    expect((await readSafetensors(path)).get('scalar')).toEqual({ shape: [], data: Float32Array.from([7]) });
  });

  it('stores F16 and BF16 with round-to-nearest-even and reads them back as float32', async () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const path = join(directory, `${dtype}.safetensors`);
      await writeSafetensors(path, tensors, { dtype });
      const read = await readSafetensors(path);
      const toBits = dtype === 'F16' ? float32ToFloat16 : float32ToBfloat16;
      const fromBits = dtype === 'F16' ? float16ToFloat32 : bfloat16ToFloat32;
      const expected = Array.from(tensors.get('a.weight')?.data ?? [], (value) => fromBits(toBits(value)));
      expect(Array.from(read.get('a.weight')?.data ?? [])).toEqual(expected);
    }
  });

  it('converts halves exactly at known points', () => {
    expect(float32ToFloat16(1)).toBe(0x3c00);
    expect(float32ToFloat16(65504)).toBe(0x7bff);
    expect(float32ToFloat16(70000)).toBe(0x7c00);
    expect(float32ToFloat16(2 ** -24)).toBe(0x0001);
    expect(float16ToFloat32(0xc000)).toBe(-2);
    expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00); // tie goes to even
    expect(float32ToBfloat16(1)).toBe(0x3f80);
    expect(bfloat16ToFloat32(0x4049)).toBeCloseTo(3.140625, 10);
  });

  it('rejects malformed files and unknown names with SAFETENSORS_INVALID', async () => {
    const path = join(directory, 'bad.safetensors');
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(1000n);
    await writeFile(path, Buffer.concat([header, Buffer.from('{}')]));
    await expect(SafetensorsReader.open(path)).rejects.toMatchObject({ code: 'SAFETENSORS_INVALID' });
    const good = join(directory, 'f32.safetensors');
    const reader = await SafetensorsReader.open(good);
    await expect(reader.read('missing')).rejects.toMatchObject({ code: 'SAFETENSORS_INVALID' });
    await reader.close();
  });
  it('writes I64 buffers as int64 and reads them back exactly; refuses values float32 cannot hold', async () => {
    const path = join(directory, 'i64.safetensors');
    const positions: TensorMap = new Map([
      ['roberta.embeddings.position_ids', { shape: [1, 5], data: Float32Array.from([0, 1, 2, 3, 513]) }],
      ['w', { shape: [2], data: Float32Array.from([0.5, -1]) }],
    ]);
    await writeSafetensors(path, positions, {
      dtypes: new Map([['roberta.embeddings.position_ids', 'I64']]),
    });
    const reader = await SafetensorsReader.open(path);
    expect(reader.header.entries.get('roberta.embeddings.position_ids')?.dtype).toBe('I64');
    await reader.close();
    const bytes = await readFile(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(bytes.readBigInt64LE(8 + headerLength + 4 * 8)).toBe(513n);
    expect(
      Array.from((await readSafetensors(path)).get('roberta.embeddings.position_ids')?.data ?? []),
    ).toEqual([0, 1, 2, 3, 513]);
    await expect(
      writeSafetensors(
        join(directory, 'fraction.safetensors'),
        new Map([['p', { shape: [1], data: Float32Array.of(0.5) }]]),
        {
          dtype: 'I64',
        },
      ),
    ).rejects.toMatchObject({ code: 'SAFETENSORS_INVALID' });
    // An int64 beyond 2^24 would be rounded by float32: refused rather than changed.
    bytes.writeBigInt64LE(2n ** 24n + 1n, 8 + headerLength);
    await writeFile(path, bytes);
    await expect(readSafetensors(path)).rejects.toMatchObject({ code: 'SAFETENSORS_INVALID' });
  });
});
