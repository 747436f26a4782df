import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { createModel } from '../models/create-model.js';
import { loadModel } from '../models/load-model.js';
import { readSafetensors, SafetensorsReader, writeSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createTrainer } from '../train/create-trainer.js';
import { loadPeftAdapter, savePeftAdapter } from './peft-adapter.js';
import { saveModelFolder } from './save-trained.js';

let directory: string;
let model: string;
const config = resolveLoraConfig({ r: 2, alpha: 4, targetModules: ['c_attn'] });

/** LoRA tensors for c_attn of the tiny GPT-2 (width 32) under `prefix` for the given layers. */
function adapterTensors(prefix: string, layers: number[]): TensorMap {
  const tensors: TensorMap = new Map();
  for (const layer of layers) {
    const module = `base_model.model.${prefix}h.${layer}.attn.c_attn`;
    tensors.set(`${module}.lora_A.weight`, { shape: [2, 32], data: new Float32Array(64).fill(0.1) });
    tensors.set(`${module}.lora_B.weight`, { shape: [96, 2], data: new Float32Array(192).fill(0.2) });
  }
  return tensors;
}

async function writeAdapter(name: string, tensors: TensorMap): Promise<string> {
  const folder = join(directory, name);
  await savePeftAdapter(folder, { config, weights: adapterTensors('transformer.', [0, 1]) });
  await writeSafetensors(join(folder, 'adapter_model.safetensors'), tensors);
  return folder;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-load-report-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('adapter load reports', () => {
  it('a matching adapter reports nothing missing or unexpected', async () => {
    const folder = await writeAdapter('good', adapterTensors('transformer.', [0, 1]));
    const adapter = await loadPeftAdapter(folder, { model: await loadModel(model) });
    expect(adapter.report).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });

  it('an adapter with a wrong prefix (changes nothing) is refused, or only warned about with strict: false', async () => {
    const folder = await writeAdapter('wrong-prefix', adapterTensors('', [0, 1]));
    const loaded = await loadModel(model);
    const error = await loadPeftAdapter(folder, { model: loaded }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ADAPTER_KEYS_MISMATCH' });
    expect((error as { details: { unexpectedKeys: string[]; missingKeys: string[] } }).details).toMatchObject(
      {
        unexpectedKeys: expect.arrayContaining(['base_model.model.h.0.attn.c_attn.lora_A.weight']),
        missingKeys: expect.arrayContaining(['base_model.model.transformer.h.1.attn.c_attn.lora_B.weight']),
      },
    );
    // Without the model at hand, the adapter is refused when it meets it (before: a zero adapter).
    const unchecked = await loadPeftAdapter(folder);
    await expect(createTrainer({ model, lora: unchecked, threads: 1 })).rejects.toMatchObject({
      code: 'ADAPTER_KEYS_MISMATCH',
    });
    const warnings: string[] = [];
    const lenient = await loadPeftAdapter(folder, {
      model: loaded,
      strict: false,
      onWarning: (message) => warnings.push(message),
    });
    expect(warnings).toHaveLength(1);
    expect(lenient.report.unexpectedKeys).toHaveLength(4);
    expect(lenient.report.missingKeys).toHaveLength(4);
    expect(lenient.weights?.size).toBe(0);
    const trainer = await createTrainer({ model, lora: lenient, threads: 1 });
    await trainer.close();
  });

  it('an adapter that leaves targeted modules without tensors is refused (missingKeys)', async () => {
    const folder = await writeAdapter('partial', adapterTensors('transformer.', [0]));
    const error = await loadPeftAdapter(folder, { model: await loadModel(model) }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: 'ADAPTER_KEYS_MISMATCH',
      details: {
        missingKeys: [
          'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight',
          'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight',
        ],
        unexpectedKeys: [],
      },
    });
    const lenient = await loadPeftAdapter(folder, { model: await loadModel(model), strict: false });
    expect(lenient.report.missingKeys).toHaveLength(2);
  });

  it('an adapter that applies but leaves tensors unused (a module it does not target) is refused (unexpectedKeys)', async () => {
    const tensors = adapterTensors('transformer.', [0, 1]);
    const stray = 'base_model.model.transformer.h.0.mlp.c_fc';
    tensors.set(`${stray}.lora_A.weight`, { shape: [2, 32], data: new Float32Array(64).fill(0.1) });
    tensors.set(`${stray}.lora_B.weight`, { shape: [128, 2], data: new Float32Array(256).fill(0.2) });
    const folder = await writeAdapter('stray', tensors);
    const loaded = await loadModel(model);
    await expect(loadPeftAdapter(folder, { model: loaded })).rejects.toMatchObject({
      code: 'ADAPTER_KEYS_MISMATCH',
      details: { missingKeys: [], unexpectedKeys: [`${stray}.lora_A.weight`, `${stray}.lora_B.weight`] },
    });
    const warnings: string[] = [];
    const lenient = await loadPeftAdapter(folder, {
      model: loaded,
      strict: false,
      onWarning: (message) => warnings.push(message),
    });
    expect(warnings).toHaveLength(1);
    expect(lenient.report).toEqual({
      missingKeys: [],
      unexpectedKeys: [`${stray}.lora_A.weight`, `${stray}.lora_B.weight`],
    });
  });

  it('a lora_A without its lora_B is reported even without the model', async () => {
    const tensors = adapterTensors('transformer.', [0, 1]);
    tensors.delete('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight');
    const folder = await writeAdapter('unpaired', tensors);
    await expect(loadPeftAdapter(folder)).rejects.toMatchObject({
      code: 'ADAPTER_KEYS_MISMATCH',
      details: { missingKeys: ['base_model.model.transformer.h.1.attn.c_attn.lora_B.weight'] },
    });
  });
});

describe('model load reports', () => {
  it('refuses unknown tensors by default; strict: false keeps them, reports them and saves them back', async () => {
    const folder = join(directory, 'extra');
    await createTinyGpt2(folder);
    const weights = await readSafetensors(join(folder, 'model.safetensors'));
    weights.set('transformer.h.0.attn.rotary.weight', { shape: [2], data: Float32Array.from([1, 2]) });
    await writeSafetensors(join(folder, 'model.safetensors'), weights);
    await expect(loadModel(folder)).rejects.toMatchObject({
      code: 'MODEL_KEYS_MISMATCH',
      details: { unexpectedKeys: ['transformer.h.0.attn.rotary.weight'] },
    });
    const warnings: string[] = [];
    const loaded = await loadModel(folder, { strict: false, onWarning: (message) => warnings.push(message) });
    expect(loaded.report).toEqual({
      missingKeys: [],
      unexpectedKeys: ['transformer.h.0.attn.rotary.weight'],
    });
    expect(warnings).toHaveLength(1);
    await saveModelFolder(join(directory, 'extra-saved'), loaded);
    const saved = await readSafetensors(join(directory, 'extra-saved', 'model.safetensors'));
    expect(saved.get('transformer.h.0.attn.rotary.weight')?.data).toEqual(Float32Array.from([1, 2]));
  });

  it('a BERT pretraining checkpoint (cls.* heads, no classifier) loads with the head initialised and reported', async () => {
    const folder = join(directory, 'bert');
    await createModel({
      architecture: 'bert',
      directory: folder,
      vocab_size: 40,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
      max_position_embeddings: 16,
    });
    const weights = await readSafetensors(join(folder, 'model.safetensors'));
    weights.delete('classifier.weight');
    weights.delete('classifier.bias');
    weights.set('cls.predictions.bias', { shape: [40], data: new Float32Array(40) });
    weights.set('bert.embeddings.position_ids', { shape: [1, 16], data: new Float32Array(16) });
    await writeSafetensors(join(folder, 'model.safetensors'), weights);
    const loaded = await loadModel(folder);
    expect(loaded.report).toEqual({
      missingKeys: ['classifier.weight', 'classifier.bias'],
      unexpectedKeys: ['cls.predictions.bias'],
    });
    expect(loaded.weights.get('classifier.weight')?.shape).toEqual([2, 8]);
    await saveModelFolder(join(directory, 'bert-saved'), loaded);
    const reader = await SafetensorsReader.open(join(directory, 'bert-saved', 'model.safetensors'));
    const names = reader.names;
    await reader.close();
    expect(names).toEqual(
      expect.arrayContaining(['cls.predictions.bias', 'bert.embeddings.position_ids', 'classifier.weight']),
    );
    expect(JSON.parse(await readFile(join(directory, 'bert-saved', 'config.json'), 'utf8')).model_type).toBe(
      'bert',
    );
  });
});
