import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPeftAdapter } from '../../adapters/peft-adapter.js';
import { exportModel } from '../../export/export-model.js';
import { readSafetensors, SafetensorsReader, writeSafetensors } from '../../safetensors/safetensors-file.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { createTinyGpt2 } from '../../testing/create-tiny-gpt2.js';
import { createTrainer } from '../../train/create-trainer.js';
import { loadModel } from '../load-model.js';
import { gpt2Architecture } from './gpt2-architecture.js';
import { Gpt2ConfigSchema } from './gpt2-config.js';

let directory: string;
const rows = Array.from({ length: 8 }, (_, index) => ({ text: `a stitch in time saves nine, ${index}. ` }));
const evaluationRows = rows.slice(0, 4);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-gpt2-layouts-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function headerNames(path: string): Promise<string[]> {
  const reader = await SafetensorsReader.open(path);
  try {
    return reader.names;
  } finally {
    await reader.close();
  }
}

/** Logits of the plain inference graph for one fixed batch. */
async function logits(config: Record<string, unknown>, weights: TensorMap): Promise<Float32Array> {
  const ort = await import('onnxruntime-node');
  const graph = gpt2Architecture.buildInferenceGraph({
    config: Gpt2ConfigSchema.parse(config),
    weights,
    kvCache: false,
  });
  const session = await ort.InferenceSession.create(graph.model);
  const ids = [3, 17, 42, 8, 99, 5];
  const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, 6]);
  const output = await session.run({
    input_ids: int64(ids),
    attention_mask: int64(ids.map(() => 1)),
    position_ids: int64(ids.map((_, index) => index)),
  });
  await session.release();
  return (output.logits as Tensor).data as Float32Array;
}

/**
 * The original GPT-2 layout of the Hub's `gpt2` and `distilgpt2` files: no `transformer.` prefix
 * (`h.0.attn.c_attn.weight`, `wte.weight`) and the `attn.bias` causal-mask buffers.
 */
async function writeOriginalLayout(folder: string): Promise<string[]> {
  await createTinyGpt2(folder);
  const weights = await readSafetensors(join(folder, 'model.safetensors'));
  const original: TensorMap = new Map();
  for (const [name, tensor] of weights) {
    original.set(name.replace(/^transformer\./, ''), tensor);
    const layer = /^transformer\.h\.(\d+)\.ln_1\.weight$/.exec(name);
    if (layer) {
      const mask = new Float32Array(64 * 64);
      for (let row = 0; row < 64; row += 1) mask.fill(1, row * 64, row * 64 + row + 1);
      original.set(`h.${layer[1]}.attn.bias`, { shape: [1, 1, 64, 64], data: mask });
    }
  }
  await writeSafetensors(join(folder, 'model.safetensors'), original);
  return [...original.keys()];
}

describe('GPT-2 with an untied LM head', () => {
  it('uses lm_head.weight, not the embeddings, when tie_word_embeddings is false', async () => {
    const config = Gpt2ConfigSchema.parse({
      vocab_size: 101,
      n_positions: 16,
      n_embd: 16,
      n_layer: 1,
      n_head: 2,
      tie_word_embeddings: false,
    });
    const weights = gpt2Architecture.createRandomWeights(config, 3);
    const embeddings = weights.get('transformer.wte.weight') as { data: Float32Array };
    expect(weights.get('lm_head.weight')?.shape).toEqual([101, 16]);
    // lm_head = 2 · wte: the untied logits are exactly twice the tied ones (same hidden states).
    weights.set('lm_head.weight', {
      shape: [101, 16],
      data: embeddings.data.map((value) => 2 * value),
    });
    const tiedWeights = new Map(weights);
    tiedWeights.delete('lm_head.weight');
    const untied = await logits(config, weights);
    const tied = await logits({ ...config, tie_word_embeddings: true }, tiedWeights);
    let worst = 0;
    for (let index = 0; index < tied.length; index += 1) {
      worst = Math.max(worst, Math.abs((untied[index] as number) - 2 * (tied[index] as number)));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('trains, saves and reloads an untied head (LoRA merge and full fine-tuning keep lm_head.weight)', async () => {
    const folder = join(directory, 'untied');
    await createTinyGpt2(folder, { tie_word_embeddings: false });
    expect(await headerNames(join(folder, 'model.safetensors'))).toContain('lm_head.weight');
    const trainer = await createTrainer({ model: folder, threads: 1 });
    const before = trainer.model.weights.get('lm_head.weight')?.data.slice();
    await trainer.train(rows, { maxSteps: 2, batchSize: 4, maxLength: 24, learningRate: 1e-2 });
    const trained = await trainer.evaluate(evaluationRows, { maxLength: 24 });
    expect(trainer.model.weights.get('lm_head.weight')?.data).not.toEqual(before);
    await trainer.saveMerged(join(directory, 'untied-full'));
    await trainer.close();
    const saved = await readSafetensors(join(directory, 'untied-full', 'model.safetensors'));
    expect(saved.get('lm_head.weight')?.data).not.toEqual(saved.get('transformer.wte.weight')?.data);
    const reloaded = await createTrainer({ model: join(directory, 'untied-full'), threads: 1 });
    expect((await reloaded.evaluate(evaluationRows, { maxLength: 24 })).loss).toBeCloseTo(trained.loss, 5);
    await reloaded.close();
  });
});

describe('GPT-2 in the original key layout (h.N.*, wte.weight, attn.bias buffers)', () => {
  it('LoRA: exportModel with the adapter and saveMerged work and write the layout that was read', async () => {
    const folder = join(directory, 'original');
    const keys = await writeOriginalLayout(folder);
    const loaded = await loadModel(folder);
    expect(loaded.weights.has('transformer.h.0.attn.c_attn.weight')).toBe(true);
    expect(loaded.report).toEqual({ missingKeys: [], unexpectedKeys: [] });

    const trainer = await createTrainer({
      model: folder,
      lora: { r: 4, alpha: 8, targetModules: ['c_attn', 'c_fc'] },
      threads: 1,
    });
    await trainer.train(rows, { maxSteps: 3, batchSize: 4, maxLength: 24, learningRate: 2e-2 });
    const trained = await trainer.evaluate(evaluationRows, { maxLength: 24 });
    await trainer.saveAdapter(join(directory, 'original-adapter'));
    await trainer.saveMerged(join(directory, 'original-merged'));
    await trainer.close();

    const mergedFile = join(directory, 'original-merged', 'model.safetensors');
    expect(await headerNames(mergedFile)).toEqual(keys);
    const merged = await readSafetensors(mergedFile);
    const base = await readSafetensors(join(folder, 'model.safetensors'));
    expect(merged.get('h.0.attn.c_attn.weight')?.data).not.toEqual(base.get('h.0.attn.c_attn.weight')?.data);
    expect(merged.get('h.1.attn.bias')?.data).toEqual(base.get('h.1.attn.bias')?.data);
    expect(merged.get('h.0.attn.c_proj.weight')?.data).toEqual(base.get('h.0.attn.c_proj.weight')?.data);

    const reloaded = await createTrainer({ model: join(directory, 'original-merged'), threads: 1 });
    expect((await reloaded.evaluate(evaluationRows, { maxLength: 24 })).loss).toBeCloseTo(trained.loss, 4);
    await reloaded.close();

    const exported = await exportModel(folder, {
      outputDirectory: join(directory, 'original-export'),
      adapter: join(directory, 'original-adapter'),
    });
    expect(exported.task).toBe('text-generation');
    const exportedConfig = JSON.parse(
      await readFile(join(directory, 'original-export', 'config.json'), 'utf8'),
    );
    expect(exportedConfig.model_type).toBe('gpt2');
    const adapter = await loadPeftAdapter(join(directory, 'original-adapter'));
    expect([...(adapter.weights?.keys() ?? [])][0]).toBe(
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
    );
  });

  it('full fine-tuning: saveMerged writes one trained copy of each tensor under the names read', async () => {
    const folder = join(directory, 'original-full-base');
    const keys = await writeOriginalLayout(folder);
    const trainer = await createTrainer({ model: folder, threads: 1 });
    await trainer.train(rows, { maxSteps: 2, batchSize: 4, maxLength: 24, learningRate: 1e-2 });
    const trained = await trainer.evaluate(evaluationRows, { maxLength: 24 });
    await trainer.saveMerged(join(directory, 'original-full'));
    await trainer.close();
    const file = join(directory, 'original-full', 'model.safetensors');
    expect(await headerNames(file)).toEqual(keys);
    const saved = await readSafetensors(file);
    const base = await readSafetensors(join(folder, 'model.safetensors'));
    expect(saved.get('h.0.mlp.c_fc.weight')?.data).not.toEqual(base.get('h.0.mlp.c_fc.weight')?.data);
    const reloaded = await createTrainer({ model: join(directory, 'original-full'), threads: 1 });
    expect((await reloaded.evaluate(evaluationRows, { maxLength: 24 })).loss).toBeCloseTo(trained.loss, 5);
    await reloaded.close();
  });

  it('keeps attn.bias and attn.masked_bias buffers of transformers 3.x–4.2x saves and writes them back', async () => {
    // Fine-tuned GPT-2 folders written by save_pretrained while both buffers were persistent carry
    // `transformer.h.N.attn.bias` and `transformer.h.N.attn.masked_bias` (a -1e4 scalar); the Hub's
    // gpt2/distilgpt2 files have attn.bias only (fixtures/layouts, checkpoint-layouts.test.ts).
    const folder = join(directory, 'masked-bias');
    await createTinyGpt2(folder);
    const weights = await readSafetensors(join(folder, 'model.safetensors'));
    const withBuffers: TensorMap = new Map();
    for (const [name, tensor] of weights) {
      withBuffers.set(name, tensor);
      const layer = /^transformer\.h\.(\d+)\.ln_1\.bias$/.exec(name);
      if (layer) {
        const mask = new Float32Array(64 * 64);
        for (let row = 0; row < 64; row += 1) mask.fill(1, row * 64, row * 64 + row + 1);
        withBuffers.set(`transformer.h.${layer[1]}.attn.bias`, { shape: [1, 1, 64, 64], data: mask });
        withBuffers.set(`transformer.h.${layer[1]}.attn.masked_bias`, {
          shape: [],
          data: Float32Array.of(-1e4),
        });
      }
    }
    await writeSafetensors(join(folder, 'model.safetensors'), withBuffers);
    const loaded = await loadModel(folder);
    expect(loaded.report).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(loaded.weights.has('transformer.h.0.attn.masked_bias')).toBe(false);
    const trainer = await createTrainer({ model: folder, threads: 1 });
    await trainer.train(rows, { maxSteps: 1, batchSize: 4, maxLength: 24, learningRate: 1e-2 });
    await trainer.saveMerged(join(directory, 'masked-bias-saved'));
    await trainer.close();
    const file = join(directory, 'masked-bias-saved', 'model.safetensors');
    expect(await headerNames(file)).toEqual([...withBuffers.keys()]);
    const saved = await readSafetensors(file);
    expect(saved.get('transformer.h.0.attn.masked_bias')).toEqual({ shape: [], data: Float32Array.of(-1e4) });
  });

  it('refuses a pytorch_model.bin-only folder with a coded error that says to convert it', async () => {
    const folder = join(directory, 'pickle');
    await createTinyGpt2(folder);
    await rm(join(folder, 'model.safetensors'));
    await writeFile(join(folder, 'pytorch_model.bin'), Buffer.from('PK'));
    await expect(loadModel(folder)).rejects.toMatchObject({
      code: 'MODEL_WEIGHTS_UNSUPPORTED',
      message: expect.stringMatching(/convert them to safetensors/),
    });
  });
});
