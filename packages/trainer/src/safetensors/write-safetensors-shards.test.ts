import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findWeightFiles } from '../models/load-model.js';
import { float32ToBfloat16 } from './float-conversion.js';
import { parseShardSize } from './parse-shard-size.js';
import { planSafetensorsShards } from './plan-safetensors-shards.js';
import { SafetensorsReader } from './safetensors-file.js';
import type { TensorMap } from './tensor-map.js';
import { writeSafetensorsShards } from './write-safetensors-shards.js';

/** The header of a safetensors file as JSON, read from its bytes. */
async function rawHeader(path: string): Promise<{ length: number; json: Record<string, unknown> }> {
  const bytes = await readFile(path);
  const length = Number(bytes.readBigUInt64LE(0));
  return { length, json: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) };
}

describe('planSafetensorsShards (huggingface_hub split_state_dict_into_shards_factory)', () => {
  // huggingface_hub's tests/test_serialization.py: sizes 6, 10, 30, 2, 2.
  const sizes: [string, number][] = [
    ['layer_1', 6],
    ['layer_2', 10],
    ['layer_3', 30],
    ['layer_4', 2],
    ['layer_5', 2],
  ];

  it('keeps one model.safetensors when everything fits (test_single_shard)', () => {
    expect(planSafetensorsShards(sizes, 100)).toEqual({
      shards: [
        { file: 'model.safetensors', tensors: ['layer_1', 'layer_2', 'layer_3', 'layer_4', 'layer_5'] },
      ],
      totalSize: 50,
      sharded: false,
    });
  });

  it('splits in order, a tensor over the limit alone and before the shard being filled (test_multiple_shards)', () => {
    expect(planSafetensorsShards(sizes, 10)).toEqual({
      shards: [
        { file: 'model-00001-of-00004.safetensors', tensors: ['layer_1'] },
        { file: 'model-00002-of-00004.safetensors', tensors: ['layer_3'] },
        { file: 'model-00003-of-00004.safetensors', tensors: ['layer_2'] },
        { file: 'model-00004-of-00004.safetensors', tensors: ['layer_4', 'layer_5'] },
      ],
      totalSize: 50,
      sharded: true,
    });
  });
});

describe('parseShardSize (huggingface_hub parse_size_to_int)', () => {
  it('reads decimal units, whitespace and lowercase as huggingface_hub does', () => {
    expect(parseShardSize('1KB')).toBe(1_000);
    expect(parseShardSize('2MB')).toBe(2_000_000);
    expect(parseShardSize('3GB')).toBe(3_000_000_000);
    expect(parseShardSize(' 10 KB ')).toBe(10_000);
    expect(parseShardSize('20mb')).toBe(20_000_000);
    expect(parseShardSize('5GB')).toBe(5_000_000_000);
    expect(parseShardSize(1234)).toBe(1234);
  });

  it('refuses what huggingface_hub refuses with VALIDATION_FAILED', () => {
    for (const bad of ['1KiB', '1ooKB', 'GB', 0, -5, 1.5]) {
      expect(() => parseShardSize(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});

describe('writeSafetensorsShards', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tunekit-shards-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const value = (count: number, start: number) =>
    Float32Array.from({ length: count }, (_, index) => start + index / 3);
  const tensors: TensorMap = new Map([
    ['embed.weight', { shape: [4, 8], data: value(32, 1) }], // BF16: 64 bytes
    ['layer.0.weight', { shape: [8, 8], data: value(64, -2) }], // BF16: 128 bytes
    ['layer.0.mask', { shape: [2, 2], data: value(4, 0) }], // F32: 16 bytes
    ['layer.1.weight', { shape: [8, 8], data: value(64, 3) }], // BF16: 128 bytes
    ['norm.weight', { shape: [8], data: value(8, 0.5) }], // BF16: 16 bytes
  ]);
  const dtypes = new Map([
    ['embed.weight', 'BF16'],
    ['layer.0.weight', 'BF16'],
    ['layer.0.mask', 'F32'],
    ['layer.1.weight', 'BF16'],
    ['norm.weight', 'BF16'],
  ] as const);

  it('writes shards and an index byte-for-byte as transformers does, each tensor in its dtype', async () => {
    const folder = join(directory, 'sharded');
    // A model.safetensors from an earlier save would shadow the shards: it must be removed.
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'model.safetensors'), 'stale');
    const written = await writeSafetensorsShards(folder, tensors, { dtypes, maxShardSize: 150 });
    expect(written.shards).toEqual([
      { file: 'model-00001-of-00003.safetensors', tensors: ['embed.weight'] },
      { file: 'model-00002-of-00003.safetensors', tensors: ['layer.0.weight', 'layer.0.mask'] },
      { file: 'model-00003-of-00003.safetensors', tensors: ['layer.1.weight', 'norm.weight'] },
    ]);
    expect((await readdir(folder)).sort()).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      'model.safetensors.index.json',
    ]);
    // json.dumps(index, indent=2, sort_keys=True) + "\n", as transformers' save_pretrained writes it.
    expect(await readFile(join(folder, 'model.safetensors.index.json'), 'utf8')).toBe(
      `${[
        '{',
        '  "metadata": {',
        '    "total_size": 352',
        '  },',
        '  "weight_map": {',
        '    "embed.weight": "model-00001-of-00003.safetensors",',
        '    "layer.0.mask": "model-00002-of-00003.safetensors",',
        '    "layer.0.weight": "model-00002-of-00003.safetensors",',
        '    "layer.1.weight": "model-00003-of-00003.safetensors",',
        '    "norm.weight": "model-00003-of-00003.safetensors"',
        '  }',
        '}',
      ].join('\n')}\n`,
    );
    const second = await rawHeader(join(folder, 'model-00002-of-00003.safetensors'));
    expect((8 + second.length) % 8).toBe(0);
    expect(second.json).toEqual({
      __metadata__: { format: 'pt' },
      'layer.0.weight': { dtype: 'BF16', shape: [8, 8], data_offsets: [0, 128] },
      'layer.0.mask': { dtype: 'F32', shape: [2, 2], data_offsets: [128, 144] },
    });
    // BF16 bits are float32's rounded to nearest even; the F32 buffer is stored as read.
    const bytes = await readFile(join(folder, 'model-00002-of-00003.safetensors'));
    const data = bytes.subarray(8 + second.length);
    const bits = Array.from({ length: 64 }, (_, index) => data.readUInt16LE(index * 2));
    expect(bits).toEqual(Array.from(value(64, -2), (entry) => float32ToBfloat16(entry)));
    expect(Array.from({ length: 4 }, (_, index) => data.readFloatLE(128 + index * 4))).toEqual(
      Array.from(value(4, 0)),
    );
    // The loader reads the shards back in order.
    expect((await findWeightFiles(folder)).map((path) => path.slice(folder.length + 1))).toEqual(
      written.shards.map((shard) => shard.file),
    );
    const reader = await SafetensorsReader.open(join(folder, 'model-00001-of-00003.safetensors'));
    expect(reader.names).toEqual(['embed.weight']);
    await reader.close();
  });

  it('writes one model.safetensors under the limit and removes the shards of an earlier save', async () => {
    const folder = join(directory, 'sharded');
    const written = await writeSafetensorsShards(folder, tensors, { dtypes });
    expect(written.sharded).toBe(false);
    expect(written.totalSize).toBe(352);
    expect(await readdir(folder)).toEqual(['model.safetensors']);
    const header = await rawHeader(join(folder, 'model.safetensors'));
    expect(Object.keys(header.json)).toEqual(['__metadata__', ...tensors.keys()]);
  });
});
