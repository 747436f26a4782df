import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoraConfigSchema } from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeLora } from '../lora/lora-weights.js';
import { loadModel } from '../models/load-model.js';
import { readSafetensors, writeSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createTrainer } from '../train/create-trainer.js';
import { loadPeftAdapter, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from './peft-adapter.js';
import { peftConfigToLoraConfig } from './peft-lora-config.js';

let directory: string;
let model: string;
const rows = Array.from({ length: 8 }, (_, index) => ({ text: `a stitch in time saves nine, ${index}. ` }));
const evaluationRows = rows.slice(0, 4);

/** adapter_config.json as PEFT 0.13's save_pretrained writes it (every field), with overrides. */
function peftConfig(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: 'gpt2',
    bias: 'none',
    fan_in_fan_out: true,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: 8,
    lora_dropout: 0.0,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: 2,
    rank_pattern: {},
    revision: null,
    target_modules: ['c_attn'],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
    ...overrides,
  };
}

/** Non-zero LoRA tensors for c_attn (width 32 → 96) of the given layers and ranks. */
function adapterTensors(ranks: Record<number, number>): TensorMap {
  const tensors: TensorMap = new Map();
  for (const [layer, r] of Object.entries(ranks)) {
    const module = `base_model.model.transformer.h.${layer}.attn.c_attn`;
    tensors.set(`${module}.lora_A.weight`, {
      shape: [r, 32],
      data: Float32Array.from({ length: r * 32 }, (_, i) => Math.sin(i + Number(layer)) / 10),
    });
    tensors.set(`${module}.lora_B.weight`, {
      shape: [96, r],
      data: Float32Array.from({ length: 96 * r }, (_, i) => Math.cos(i * 3 + Number(layer)) / 10),
    });
  }
  return tensors;
}

async function writeAdapter(
  name: string,
  config: Record<string, unknown>,
  tensors: TensorMap,
): Promise<string> {
  const folder = join(directory, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, PEFT_CONFIG_FILE), JSON.stringify(config));
  await writeSafetensors(join(folder, PEFT_WEIGHTS_FILE), tensors);
  return folder;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-peft-config-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('adapter_config.json: the whole LoRA config of PEFT', () => {
  it('maps every LoRA field PEFT writes (snake_case) to the settings (camelCase)', () => {
    const config = LoraConfigSchema.parse(
      peftConfigToLoraConfig(
        peftConfig({
          target_modules: '.*\\.h\\.1\\.attn\\.c_attn',
          exclude_modules: ['c_proj'],
          layers_to_transform: [1],
          layers_pattern: 'h',
          rank_pattern: { 'h.1.attn.c_attn': 4 },
          alpha_pattern: { c_attn: 16 },
          use_rslora: true,
          modules_to_save: ['ln_f'],
          bias: 'lora_only',
          init_lora_weights: 'gaussian',
          lora_dropout: 0.1,
        }),
      ),
    );
    expect(config).toEqual({
      r: 2,
      alpha: 8,
      dropout: 0.1,
      targetModules: '.*\\.h\\.1\\.attn\\.c_attn',
      excludeModules: ['c_proj'],
      layersToTransform: [1],
      layersPattern: 'h',
      rankPattern: { 'h.1.attn.c_attn': 4 },
      alphaPattern: { c_attn: 16 },
      rsLora: true,
      modulesToSave: ['ln_f'],
      bias: 'lora_only',
      initLoraWeights: 'gaussian',
    });
  });

  it.each([
    ['use_dora', true],
    ['init_lora_weights', 'pissa'],
    ['init_lora_weights', 'olora'],
    ['init_lora_weights', 'loftq'],
    ['lora_bias', true],
    ['layer_replication', [[0, 1]]],
    ['loftq_config', { loftq_bits: 4 }],
    ['use_qalora', true],
    ['init_lora_weights', 'eva'],
    ['init_lora_weights', 'corda'],
    ['init_lora_weights', 'orthogonal'],
    ['megatron_config', { tensor_model_parallel_size: 2 }],
    ['target_parameters', ['mlp.experts.gate_up_proj']],
    ['trainable_token_indices', [0, 5]],
    ['eva_config', { rho: 2 }],
    ['corda_config', { corda_method: 'kpm' }],
    ['some_future_option', 3],
  ])('refuses %s = %j with LORA_CONFIG_UNSUPPORTED naming the field', async (field, value) => {
    const folder = await writeAdapter(
      `refused-${field}-${String(value)}`,
      peftConfig({ [field]: value }),
      adapterTensors({ 0: 2, 1: 2 }),
    );
    await expect(loadPeftAdapter(folder)).rejects.toMatchObject({
      code: 'LORA_CONFIG_UNSUPPORTED',
      details: { field },
    });
  });

  it('accepts options PEFT accepts that were refused before: rank_pattern, suffix targets, bias lora_only', async () => {
    const tensors = adapterTensors({ 0: 2, 1: 4 });
    tensors.set('base_model.model.transformer.h.0.attn.c_attn.bias', {
      shape: [96],
      data: new Float32Array(96).fill(0.5),
    });
    tensors.set('base_model.model.transformer.h.1.attn.c_attn.bias', {
      shape: [96],
      data: new Float32Array(96).fill(-0.5),
    });
    const folder = await writeAdapter(
      'accepted',
      peftConfig({
        target_modules: ['attn.c_attn'],
        rank_pattern: { 'h.1.attn.c_attn': 4 },
        bias: 'lora_only',
      }),
      tensors,
    );
    const adapter = await loadPeftAdapter(folder, { model: await loadModel(model) });
    expect(adapter.report).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const trainer = await createTrainer({ model, lora: adapter, threads: 1 });
    const withAdapter = await trainer.evaluate(evaluationRows, { maxLength: 24 });
    await trainer.saveMerged(join(directory, 'accepted-merged'));
    await trainer.close();
    const merged = await readSafetensors(join(directory, 'accepted-merged', 'model.safetensors'));
    expect(merged.get('transformer.h.1.attn.c_attn.bias')?.data.every((value) => value === -0.5)).toBe(true);
    const reloaded = await createTrainer({ model: join(directory, 'accepted-merged'), threads: 1 });
    expect((await reloaded.evaluate(evaluationRows, { maxLength: 24 })).loss).toBeCloseTo(
      withAdapter.loss,
      5,
    );
    await reloaded.close();
  });

  it('applies alpha_pattern (before: ignored without a word) to the live graph and to the merge', async () => {
    const tensors = adapterTensors({ 0: 2, 1: 2 });
    const plain = await loadPeftAdapter(await writeAdapter('alpha-plain', peftConfig({}), tensors));
    const patterned = await loadPeftAdapter(
      await writeAdapter('alpha-pattern', peftConfig({ alpha_pattern: { 'h.1.attn.c_attn': 64 } }), tensors),
    );
    expect(patterned.config.alphaPattern).toEqual({ 'h.1.attn.c_attn': 64 });
    const base = await loadModel(model);
    // Merge: layer 1 scaled by 64/2, layer 0 by 8/2.
    const merged = mergeLora(base.weights, patterned.weights as TensorMap, patterned.config, {
      fanInFanOut: true,
    });
    const w = base.weights.get('transformer.h.1.attn.c_attn.weight')?.data as Float32Array;
    const a = tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight')?.data as Float32Array;
    const b = tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight')?.data as Float32Array;
    const expected =
      (b[5 * 2] as number) * (a[7] as number) + (b[5 * 2 + 1] as number) * (a[32 + 7] as number);
    const got = merged.get('transformer.h.1.attn.c_attn.weight')?.data as Float32Array;
    expect((got[7 * 96 + 5] as number) - (w[7 * 96 + 5] as number)).toBeCloseTo(32 * expected, 5);
    const losses: number[] = [];
    for (const lora of [plain, patterned]) {
      const trainer = await createTrainer({ model, lora, threads: 1 });
      losses.push((await trainer.evaluate(evaluationRows, { maxLength: 24 })).loss);
      await trainer.saveMerged(join(directory, `alpha-merged-${losses.length}`));
      await trainer.close();
      const reloaded = await createTrainer({
        model: join(directory, `alpha-merged-${losses.length}`),
        threads: 1,
      });
      expect((await reloaded.evaluate(evaluationRows, { maxLength: 24 })).loss).toBeCloseTo(
        losses.at(-1) as number,
        5,
      );
      await reloaded.close();
    }
    expect(Math.abs((losses[0] as number) - (losses[1] as number))).toBeGreaterThan(1e-3);
  });

  it('trains with a regex target, layers_to_transform, bias lora_only and modules_to_save, and saves them all', async () => {
    const trainer = await createTrainer({
      model,
      lora: {
        r: 2,
        alpha: 4,
        targetModules: ['c_attn', 'c_fc'],
        layersToTransform: [1],
        layersPattern: 'h',
        bias: 'lora_only',
        modulesToSave: ['ln_f'],
      },
      threads: 1,
    });
    await trainer.train(rows, { maxSteps: 3, batchSize: 4, maxLength: 24, learningRate: 2e-2 });
    const trained = await trainer.evaluate(evaluationRows, { maxLength: 24 });
    await trainer.saveAdapter(join(directory, 'full-config'));
    await trainer.close();
    const saved = await readSafetensors(join(directory, 'full-config', PEFT_WEIGHTS_FILE));
    expect([...saved.keys()].sort()).toEqual(
      [
        'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight',
        'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight',
        'base_model.model.transformer.h.1.mlp.c_fc.lora_A.weight',
        'base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight',
        'base_model.model.transformer.h.1.attn.c_attn.bias',
        'base_model.model.transformer.h.1.mlp.c_fc.bias',
        'base_model.model.transformer.ln_f.weight',
        'base_model.model.transformer.ln_f.bias',
      ].sort(),
    );
    const base = await loadModel(model);
    expect(saved.get('base_model.model.transformer.ln_f.weight')?.data).not.toEqual(
      base.weights.get('transformer.ln_f.weight')?.data,
    );
    expect(saved.get('base_model.model.transformer.h.1.mlp.c_fc.bias')?.data).not.toEqual(
      base.weights.get('transformer.h.1.mlp.c_fc.bias')?.data,
    );
    const written = JSON.parse(await readFile(join(directory, 'full-config', PEFT_CONFIG_FILE), 'utf8'));
    expect(written).toMatchObject({
      target_modules: ['c_attn', 'c_fc'],
      layers_to_transform: [1],
      layers_pattern: 'h',
      bias: 'lora_only',
      modules_to_save: ['ln_f'],
      fan_in_fan_out: true,
    });
    const reloaded = await createTrainer({
      model,
      lora: await loadPeftAdapter(join(directory, 'full-config'), { model: base }),
      threads: 1,
    });
    expect((await reloaded.evaluate(evaluationRows, { maxLength: 24 })).loss).toBeCloseTo(trained.loss, 5);
    await reloaded.saveMerged(join(directory, 'full-config-merged'));
    await reloaded.close();
    const merged = await createTrainer({ model: join(directory, 'full-config-merged'), threads: 1 });
    expect((await merged.evaluate(evaluationRows, { maxLength: 24 })).loss).toBeCloseTo(trained.loss, 4);
    await merged.close();
  });
});
