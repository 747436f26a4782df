import { LoraConfigSchema } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { loraScaling, resolveLoraConfig } from './lora-config.js';
import { initializeLoraWeights, isLoraTarget, mergeLora } from './lora-weights.js';
import { loraTensorNames } from './peft-names.js';

describe('LoRA weights', () => {
  const config = resolveLoraConfig({ r: 2, alpha: 4, targetModules: ['c_attn'] });

  it('parses PEFT-like settings and computes (rs)LoRA scaling', () => {
    expect(loraScaling(config)).toBe(2);
    expect(loraScaling({ ...config, rsLora: true })).toBeCloseTo(4 / Math.SQRT2, 12);
    expect(LoraConfigSchema.safeParse({ r: 0 }).success).toBe(false);
    expect(resolveLoraConfig({}, 'llama').targetModules).toEqual(['q_proj', 'v_proj']);
    expect(resolveLoraConfig({}, 'bert').targetModules).toEqual(['query', 'value']);
    expect(resolveLoraConfig({}, 'gpt2').targetModules).toEqual(['c_attn']);
    expect(() => resolveLoraConfig({}, 'mystery')).toThrow(/need targetModules/);
    expect(isLoraTarget(config, 'transformer.h.3.attn.c_attn')).toBe(true);
    expect(isLoraTarget(config, 'transformer.h.3.attn.c_proj')).toBe(false);
  });

  it('initialises like PEFT: A uniform within ±1/√in, B zeros, deterministic per seed', () => {
    const modules = [{ modulePath: 'transformer.h.0.attn.c_attn', inFeatures: 16, outFeatures: 48 }];
    const weights = initializeLoraWeights(config, modules, 3);
    const names = loraTensorNames('transformer.h.0.attn.c_attn');
    expect(names.a).toBe('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight');
    const a = weights.get(names.a);
    const b = weights.get(names.b);
    expect(a?.shape).toEqual([2, 16]);
    expect(b?.shape).toEqual([48, 2]);
    expect(Math.max(...Array.from(a?.data ?? [], Math.abs))).toBeLessThanOrEqual(0.25);
    expect(new Set(a?.data).size).toBe(32);
    expect(b?.data.every((value) => value === 0)).toBe(true);
    expect(initializeLoraWeights(config, modules, 3).get(names.a)?.data).toEqual(a?.data);
  });

  it('merges scaling·(B·A)ᵀ into a Conv1D weight [in, out]', () => {
    const names = loraTensorNames('m');
    const adapters: TensorMap = new Map([
      [names.a, { shape: [2, 3], data: Float32Array.from([1, 0, 2, 0, 1, 1]) }], // [r=2, in=3]
      [names.b, { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }], // [out=2, r=2]
    ]);
    const weights: TensorMap = new Map([['m.weight', { shape: [3, 2], data: new Float32Array(6) }]]);
    const merged = mergeLora(weights, adapters, config, { fanInFanOut: true });
    // B·A = [[1,2,4],[3,4,10]] (out×in); transposed to in×out and scaled by 2.
    expect(Array.from(merged.get('m.weight')?.data ?? [])).toEqual([2, 6, 4, 8, 8, 20]);
    expect(weights.get('m.weight')?.data.every((value) => value === 0)).toBe(true);
  });
});
