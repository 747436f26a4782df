import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { writeSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { loadPeftAdapter, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, savePeftAdapter } from './peft-adapter.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-peft-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const config = resolveLoraConfig({ r: 4, alpha: 8, targetModules: ['c_attn'] });
/** GPT-2-like adapters: 2 layers, c_attn 8 → 24, PEFT names and layout (A [r, in], B [out, r]). */
function adapterWeights(): TensorMap {
  const weights: TensorMap = new Map();
  for (let layer = 0; layer < 2; layer++) {
    const prefix = `base_model.model.transformer.h.${layer}.attn.c_attn`;
    weights.set(`${prefix}.lora_A.weight`, {
      shape: [4, 8],
      data: Float32Array.from({ length: 32 }, (_, i) => i / 10 + layer),
    });
    weights.set(`${prefix}.lora_B.weight`, {
      shape: [24, 4],
      data: Float32Array.from({ length: 96 }, (_, i) => -i / 100 - layer),
    });
  }
  return weights;
}

describe('PEFT adapters', () => {
  it('round-trips adapter_config.json + adapter_model.safetensors with PEFT key names', async () => {
    const folder = join(directory, 'roundtrip');
    await savePeftAdapter(
      folder,
      { config, weights: adapterWeights() },
      { baseModel: '/models/tiny', modelType: 'gpt2' },
    );
    const written = JSON.parse(await readFile(join(folder, PEFT_CONFIG_FILE), 'utf8'));
    expect(written).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0,
      target_modules: ['c_attn'],
      fan_in_fan_out: true,
      base_model_name_or_path: '/models/tiny',
    });
    const loaded = await loadPeftAdapter(folder);
    expect(loaded.config).toEqual(config);
    expect([...(loaded.weights?.keys() ?? [])]).toEqual([...adapterWeights().keys()]);
    expect(loaded.weights?.get('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight')).toEqual(
      adapterWeights().get('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight'),
    );
  });

  it('reads adapters whose keys still carry an adapter name, as PEFT keeps in memory', async () => {
    const folder = join(directory, 'named');
    const renamed: TensorMap = new Map(
      [...adapterWeights()].map(([key, value]) => [
        key.replace('.weight', '').replace(/lora_([AB])$/, 'lora_$1.default.weight'),
        value,
      ]),
    );
    await savePeftAdapter(join(directory, 'named-source'), { config, weights: adapterWeights() });
    await mkdir(folder, { recursive: true });
    await copyFile(join(directory, 'named-source', PEFT_CONFIG_FILE), join(folder, PEFT_CONFIG_FILE));
    await writeSafetensors(join(folder, PEFT_WEIGHTS_FILE), renamed);
    const loaded = await loadPeftAdapter(folder);
    expect([...(loaded.weights?.keys() ?? [])]).toEqual([...adapterWeights().keys()]);
  });

  it('rejects tensors with the wrong layout or non-PEFT names', async () => {
    const transposed = adapterWeights();
    transposed.set('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight', {
      shape: [8, 4],
      data: new Float32Array(32),
    });
    const error = await savePeftAdapter(join(directory, 'bad'), { config, weights: transposed }).catch(
      (caught: unknown) => caught,
    );
    expect(TunekitError.isInstance(error) && error.code).toBe('ADAPTER_INVALID');
    const misnamed: TensorMap = new Map([
      ['transformer.h.0.attn.c_attn.lora_A.weight', { shape: [4, 8], data: new Float32Array(32) }],
    ]);
    await expect(savePeftAdapter(join(directory, 'bad2'), { config, weights: misnamed })).rejects.toThrow(
      /not a PEFT LoRA key/,
    );
  });
});
