import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { saveModelFolder } from '../adapters/save-trained.js';
import { bfloat16ToFloat32, float32ToBfloat16 } from '../safetensors/float-conversion.js';
import { readSafetensors, SafetensorsReader, writeSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { createTrainer } from '../train/create-trainer.js';
import { toCheckpointLayout } from './checkpoint-layout.js';
import { type LoadedModel, loadModel } from './load-model.js';
import type { LoraAdapters } from './model-architecture.js';

// Tiny checkpoints in the layouts of named public checkpoints, with PyTorch logits: written by
// tests/golden/checkpoint_layouts.py (where each layout comes from: fixtures/layouts/SOURCES.md).
const root = fileURLToPath(new URL('./fixtures/layouts/', import.meta.url));

interface Manifest {
  input_ids: number[][];
  lora: { r: number; alpha: number };
  /** `sharded_copy`: a subfolder with the same tensors as two shards + model.safetensors.index.json. */
  fixtures: Record<string, { keys: string[]; dtype: string; sharded_copy: string | null }>;
}

/** Characters to ids below the fixtures' vocabulary of 64 (63 is end of sequence). */
const tinyTokenizer: Tokenizer = {
  name: 'tiny',
  vocabSize: 64,
  specialTokens: { eos: 63 },
  encode: (text) => [...text].map((character) => (character.codePointAt(0) as number) % 63),
  decode: (ids) => ids.map((id) => String.fromCodePoint(97 + (id % 26))).join(''),
  tokenToId: () => undefined,
  save: async () => {},
};

let manifest: Manifest;
let directory: string;
beforeAll(async () => {
  manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as Manifest;
  directory = await mkdtemp(join(tmpdir(), 'tunekit-layouts-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function logits(model: Pick<LoadedModel, 'architecture' | 'config' | 'weights'>, lora?: LoraAdapters) {
  const ort = await import('onnxruntime-node');
  const graph = model.architecture.buildInferenceGraph({
    config: model.config,
    weights: model.weights,
    lora,
    kvCache: false,
  });
  const session = await ort.InferenceSession.create(graph.model);
  const rows = manifest.input_ids;
  const shape = [rows.length, rows[0]?.length ?? 0];
  const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), shape);
  const output = await session.run({
    input_ids: int64(rows.flat()),
    attention_mask: int64(rows.flat().map(() => 1)),
    position_ids: int64(rows.flatMap((row) => row.map((_, index) => index))),
  });
  await session.release();
  return (output.logits as Tensor).data as Float32Array;
}

function maxDifference(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let index = 0; index < actual.length; index += 1) {
    worst = Math.max(worst, Math.abs((actual[index] as number) - (expected[index] as number)));
  }
  return worst;
}

/** Each tensor's dtype in a safetensors header. */
async function headerDtypes(path: string): Promise<Record<string, string>> {
  const reader = await SafetensorsReader.open(path);
  try {
    return Object.fromEntries([...reader.header.entries].map(([name, entry]) => [name, entry.dtype]));
  } finally {
    await reader.close();
  }
}

/** A float32 value rounded to bfloat16 and back (round to nearest even, as torch converts). */
function roundToBfloat16(value: number): number {
  return bfloat16ToFloat32(float32ToBfloat16(value));
}

/** Debian's python3 with torch, when installed (CI has none: the PyTorch reader check then does not run). */
function pythonWithTorch(): string | undefined {
  if (!existsSync('/usr/bin/python3')) return undefined;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return '/usr/bin/python3';
  } catch {
    return undefined;
  }
}
const python = pythonWithTorch();
const savedCheckpointCheck = fileURLToPath(
  new URL('../../../../tests/golden/saved_checkpoint_check.py', import.meta.url),
);
const layoutLogits = fileURLToPath(new URL('../../../../tests/golden/layout_logits.py', import.meta.url));

/** PyTorch's logits (tests/golden/layout_logits.py) for a model folder and an optional PEFT adapter. */
function torchLogits(folder: string, adapter?: string): Float32Array {
  const output = execFileSync(python as string, [layoutLogits, folder, ...(adapter ? [adapter] : [])]);
  return Float32Array.from((JSON.parse(output.toString()) as { logits: number[] }).logits);
}

async function fileKeys(folder: string): Promise<string[]> {
  const reader = await SafetensorsReader.open(join(folder, 'model.safetensors'));
  try {
    return reader.names;
  } finally {
    await reader.close();
  }
}

const NAMES = ['gpt2', 'distilgpt2', 'gpt2-untied', 'smollm2-135m', 'qwen2.5-0.5b', 'tinyllama-1.1b'];
const rows = Array.from({ length: 8 }, (_, index) => ({ text: `a stitch in time saves nine ${index}` }));

describe.each(NAMES)('checkpoint layout %s', (name) => {
  it('loads as published and matches PyTorch logits (base and with a PEFT adapter) within 1e-5', async () => {
    const folder = join(root, name);
    const expected: TensorMap = await readSafetensors(join(folder, 'expected.safetensors'));
    const model = await loadModel(folder);
    expect(model.report).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(model.layout?.tensors.map((tensor) => tensor.name)).toEqual(manifest.fixtures[name]?.keys);
    expect(model.layout?.tensors[0]?.dtype).toBe(manifest.fixtures[name]?.dtype);
    const base = maxDifference(await logits(model), expected.get('base.logits')?.data as Float32Array);
    expect(base).toBeLessThan(1e-5);
    const adapter = await loadPeftAdapter(join(folder, 'adapter'), { model });
    const adapted = maxDifference(
      await logits(model, adapter),
      expected.get('adapter.logits')?.data as Float32Array,
    );
    expect(adapted).toBeLessThan(1e-5);
    const shardedCopy = manifest.fixtures[name]?.sharded_copy;
    if (shardedCopy) {
      // The same tensors split into shards with an index, as save_pretrained(max_shard_size=…) writes
      // them: read shard by shard in the index's file order, same names, same logits.
      const sharded = await loadModel(join(folder, shardedCopy));
      expect(await readdir(join(folder, shardedCopy))).toEqual(
        expect.arrayContaining([
          'model-00001-of-00002.safetensors',
          'model-00002-of-00002.safetensors',
          'model.safetensors.index.json',
        ]),
      );
      expect(sharded.layout?.tensors.map((tensor) => tensor.name)).toEqual(manifest.fixtures[name]?.keys);
      expect(
        maxDifference(await logits(sharded), expected.get('base.logits')?.data as Float32Array),
      ).toBeLessThan(1e-5);
    }
  });

  it('round-trips: LoRA train → save adapter → reload → merge → save (layout and dtypes read) → reload, logits within 1e-5', async () => {
    const folder = join(root, name);
    const targetModules = name.includes('gpt2') ? ['c_attn'] : ['q_proj', 'v_proj'];
    const trainer = await createTrainer({
      model: folder,
      tokenizer: tinyTokenizer,
      lora: { r: 2, alpha: 4, targetModules },
      threads: 1,
    });
    await trainer.train(rows, { maxSteps: 2, batchSize: 4, maxLength: 12, learningRate: 5e-2 });
    const out = join(directory, name);
    await trainer.saveAdapter(join(out, 'adapter'));
    await trainer.saveMerged(join(out, 'merged'));
    await trainer.saveMerged(join(out, 'merged-f32'), { dtype: 'F32' });
    // Re-sharded as transformers would with a small max_shard_size (3 files or more).
    const sharded = join(out, 'merged-sharded');
    await trainer.saveMerged(sharded, { maxShardSize: 1500 });
    await trainer.close();
    const model = await loadModel(folder);
    const adapter = await loadPeftAdapter(join(out, 'adapter'), { model });
    // PEFT saves adapters in float32 whatever the base's dtype.
    expect(Object.values(await headerDtypes(join(out, 'adapter', 'adapter_model.safetensors')))).toEqual(
      Array.from(adapter.weights?.keys() ?? [], () => 'F32'),
    );
    const live = await logits(model, adapter);
    const untrained = await logits(model);
    expect(maxDifference(live, untrained)).toBeGreaterThan(1e-4);
    const mergedF32 = await loadModel(join(out, 'merged-f32'));
    expect(maxDifference(await logits(mergedF32), live)).toBeLessThan(1e-5);
    if (python) {
      // PyTorch on the files Tunekit wrote: the base + the trained adapter, and the merged save.
      expect(maxDifference(torchLogits(folder, join(out, 'adapter')), live)).toBeLessThan(1e-5);
      expect(maxDifference(torchLogits(join(out, 'merged-f32')), live)).toBeLessThan(1e-5);
    }
    // Saved in the layout and dtypes that were read: same names, same order, same dtype per tensor
    // (a BF16 checkpoint stays BF16, its values float32's rounded to nearest even).
    const expectedDtypes = Object.fromEntries(
      model.layout?.tensors.map((tensor) => [tensor.name, tensor.dtype]) ?? [],
    );
    expect(await headerDtypes(join(out, 'merged', 'model.safetensors'))).toEqual(expectedDtypes);
    expect(await fileKeys(join(out, 'merged'))).toEqual(manifest.fixtures[name]?.keys);
    const merged = await loadModel(join(out, 'merged'));
    const round = manifest.fixtures[name]?.dtype === 'BF16' ? roundToBfloat16 : (value: number) => value;
    for (const [weight, tensor] of mergedF32.weights) {
      expect(Array.from(merged.weights.get(weight)?.data ?? []), weight).toEqual(
        Array.from(tensor.data, round),
      );
    }
    const reloaded = await loadModel(sharded);
    expect(await readdir(sharded)).toContain('model.safetensors.index.json');
    // huggingface_hub's split keeps the order except for tensors over the limit, which get a shard
    // of their own when met: the names are those read, the order the shards' (as transformers reads them).
    expect(reloaded.layout?.tensors.map((tensor) => tensor.name).sort()).toEqual(
      [...(manifest.fixtures[name]?.keys ?? [])].sort(),
    );
    expect(
      Object.fromEntries(reloaded.layout?.tensors.map((tensor) => [tensor.name, tensor.dtype]) ?? []),
    ).toEqual(expectedDtypes);
    expect(maxDifference(await logits(reloaded), await logits(merged))).toBe(0);
    // PyTorch reads the re-sharded save (in the checkpoint's dtypes) to the same logits.
    if (python) expect(maxDifference(torchLogits(sharded), await logits(merged))).toBeLessThan(1e-5);
    if (python) {
      // An independent reader (PyTorch): shard names, index, total_size, and each tensor equal to
      // torch's own conversion of the float32 save to the saved dtype, bit for bit.
      for (const saved of [join(out, 'merged'), sharded]) {
        const check = JSON.parse(
          execFileSync(python, [savedCheckpointCheck, saved, join(out, 'merged-f32')]).toString(),
        ) as { ok: boolean; errors: string[]; files: string[] };
        expect(check.errors).toEqual([]);
        expect(check.ok).toBe(true);
        if (saved === sharded) expect(check.files.length).toBeGreaterThanOrEqual(3);
      }
    }
  });
});

describe('storage variants of the published layouts', () => {
  it('an F16 checkpoint (gpt2 layout saved as F16) loads, and saves back F16 with the same bits', async () => {
    const read = await loadModel(join(root, 'gpt2'));
    const f16 = join(directory, 'gpt2-f16');
    await saveModelFolder(f16, read, undefined, { dtype: 'F16' });
    const model = await loadModel(f16);
    expect(model.layout?.tensors.map((tensor) => tensor.name)).toEqual(manifest.fixtures.gpt2?.keys);
    expect(new Set(model.layout?.tensors.map((tensor) => tensor.dtype))).toEqual(new Set(['F16']));
    // Half precision moves the logits a little from the float32 golden, never the argmax here.
    const expected = (await readSafetensors(join(root, 'gpt2', 'expected.safetensors'))).get('base.logits')
      ?.data as Float32Array;
    expect(maxDifference(await logits(model), expected)).toBeLessThan(2e-2);
    const again = join(directory, 'gpt2-f16-again');
    await saveModelFolder(again, model);
    expect(await readFile(join(again, 'model.safetensors'))).toEqual(
      await readFile(join(f16, 'model.safetensors')),
    );
    if (python) {
      const reference = join(directory, 'gpt2-f16-reference');
      await saveModelFolder(reference, model, undefined, { dtype: 'F32' });
      const check = JSON.parse(execFileSync(python, [savedCheckpointCheck, again, reference]).toString()) as {
        ok: boolean;
        errors: string[];
      };
      expect(check.errors).toEqual([]);
      expect(maxDifference(torchLogits(again), await logits(model))).toBeLessThan(1e-5);
    }
  });

  it('refuses an index that names a shard the folder lacks (MODEL_INVALID)', async () => {
    const source = join(root, 'tinyllama-1.1b', 'sharded');
    const folder = join(directory, 'missing-shard');
    await mkdir(folder, { recursive: true });
    for (const file of ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors']) {
      await writeFile(join(folder, file), await readFile(join(source, file)));
    }
    await expect(loadModel(folder)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(/model-00002-of-00002\.safetensors/),
    });
  });
});

describe.skipIf(!python)('tests/golden/saved_checkpoint_check.py (needs /usr/bin/python3 with torch)', () => {
  it('rejects BF16 written by truncation instead of rounding, and a wrong total_size', async () => {
    const read = await loadModel(join(root, 'smollm2-135m'));
    // Values that BF16 cannot hold exactly (the fixture's are BF16 already), so rounding matters.
    const weights: TensorMap = new Map(
      [...read.weights].map(([weight, tensor]) => [
        weight,
        { shape: tensor.shape, data: Float32Array.from(tensor.data, (value) => value * 1.0001 + 1e-4) },
      ]),
    );
    const model = { ...read, weights };
    const out = join(directory, 'checker');
    await saveModelFolder(join(out, 'f32'), model, undefined, { dtype: 'F32' });
    await saveModelFolder(join(out, 'good'), model, undefined, { maxShardSize: 1500 });
    const run = (saved: string) =>
      JSON.parse(
        execFileSync(python as string, [savedCheckpointCheck, saved, join(out, 'f32')]).toString(),
      ) as {
        ok: boolean;
        errors: string[];
      };
    expect(run(join(out, 'good'))).toMatchObject({ ok: true, errors: [] });
    // Truncated BF16 (the top 16 bits, no rounding) differs from torch's conversion.
    const truncated: TensorMap = new Map();
    for (const [tensorName, value] of toCheckpointLayout(model.weights, model.layout)) {
      const data = Float32Array.from(value.data, (entry) => {
        const bits = new Uint32Array(Float32Array.of(entry).buffer)[0] as number;
        return new Float32Array(Uint32Array.of((bits & 0xffff0000) >>> 0).buffer)[0] as number;
      });
      truncated.set(tensorName, { shape: value.shape, data });
    }
    await mkdir(join(out, 'bad'), { recursive: true });
    await writeSafetensors(join(out, 'bad', 'model.safetensors'), truncated, { dtype: 'BF16' });
    const bad = run(join(out, 'bad'));
    expect(bad.ok).toBe(false);
    expect(bad.errors.join('\n')).toMatch(/bits differ/);
    const index = join(out, 'good', 'model.safetensors.index.json');
    const parsed = JSON.parse(await readFile(index, 'utf8')) as { metadata: { total_size: number } };
    parsed.metadata.total_size += 2;
    await writeFile(index, `${JSON.stringify(parsed, null, 2)}\n`);
    expect(run(join(out, 'good')).errors).toEqual([expect.stringMatching(/total_size/)]);
  });
});
