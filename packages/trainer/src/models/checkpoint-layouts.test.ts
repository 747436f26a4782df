import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { readSafetensors, SafetensorsReader } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { createTrainer } from '../train/create-trainer.js';
import { type LoadedModel, loadModel } from './load-model.js';
import type { LoraAdapters } from './model-architecture.js';

// Tiny checkpoints in the layouts of named public checkpoints, with PyTorch logits: written by
// tests/golden/checkpoint_layouts.py (sources of each layout in its docstring and manifest.json).
const root = fileURLToPath(new URL('./fixtures/layouts/', import.meta.url));

interface Manifest {
  input_ids: number[][];
  lora: { r: number; alpha: number };
  fixtures: Record<string, { keys: string[]; dtype: string; sharded: boolean }>;
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
  });

  it('round-trips: LoRA train → save adapter → reload → merge → save (layout read) → reload, logits within 1e-5', async () => {
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
    await trainer.close();
    const model = await loadModel(folder);
    const adapter = await loadPeftAdapter(join(out, 'adapter'), { model });
    const live = await logits(model, adapter);
    const untrained = await logits(model);
    expect(maxDifference(live, untrained)).toBeGreaterThan(1e-4);
    const merged = await loadModel(join(out, 'merged'));
    expect(maxDifference(await logits(merged), live)).toBeLessThan(1e-5);
    // Saved in the layout that was read: same names, same order (shards written back as one file).
    expect(await fileKeys(join(out, 'merged'))).toEqual(manifest.fixtures[name]?.keys);
  });
});
