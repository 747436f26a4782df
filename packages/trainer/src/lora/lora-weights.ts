import { TunekitError } from '@tunekit/core';
import { SeededRandom } from '../data/seeded-random.js';
import type { FloatTensor, TensorMap } from '../safetensors/tensor-map.js';
import { loraScaling, type ResolvedLoraConfig } from './lora-config.js';

/** PEFT's prefix for tensors of a wrapped model (`base_model.model.`). */
export const PEFT_PREFIX = 'base_model.model.';

/** PEFT tensor names of the adapter on the module whose weight is `<module>.weight`. */
export function loraTensorNames(modulePath: string): { a: string; b: string } {
  return { a: `${PEFT_PREFIX}${modulePath}.lora_A.weight`, b: `${PEFT_PREFIX}${modulePath}.lora_B.weight` };
}

/** Whether a module path (`transformer.h.0.attn.c_attn`) is targeted: its last name is in `targetModules`. */
export function isLoraTarget(config: ResolvedLoraConfig, modulePath: string): boolean {
  const last = modulePath.split('.').at(-1) ?? modulePath;
  return config.targetModules.includes(last) || config.targetModules.includes(modulePath);
}

/** A linear layer that LoRA can adapt: its module path and input/output sizes. */
export interface LoraTargetModule {
  modulePath: string;
  inFeatures: number;
  outFeatures: number;
}

/**
 * PEFT's initialisation: `lora_A` `[r, in]` Kaiming-uniform with a = √5 (uniform in ±1/√in),
 * `lora_B` `[out, r]` zeros — so a fresh adapter leaves the model unchanged.
 */
export function initializeLoraWeights(
  config: ResolvedLoraConfig,
  modules: readonly LoraTargetModule[],
  seed: number,
): TensorMap {
  const random = new SeededRandom(seed);
  const tensors: TensorMap = new Map();
  for (const module of modules) {
    const names = loraTensorNames(module.modulePath);
    const bound = 1 / Math.sqrt(module.inFeatures);
    const a = new Float32Array(config.r * module.inFeatures);
    for (let index = 0; index < a.length; index += 1) a[index] = (random.next() * 2 - 1) * bound;
    tensors.set(names.a, { shape: [config.r, module.inFeatures], data: a });
    tensors.set(names.b, {
      shape: [module.outFeatures, config.r],
      data: new Float32Array(module.outFeatures * config.r),
    });
  }
  return tensors;
}

/**
 * Merges adapters into base weights: `W += scaling · (B·A)ᵀ` for Conv1D layout (`[in, out]`,
 * `fanInFanOut` true, GPT-2) or `W += scaling · B·A` for Linear layout (`[out, in]`). Returns a new
 * map; untouched tensors are shared, merged ones are copies.
 */
export function mergeLora(
  weights: TensorMap,
  adapters: TensorMap,
  config: ResolvedLoraConfig,
  options: { fanInFanOut: boolean },
): TensorMap {
  const scaling = loraScaling(config);
  const merged: TensorMap = new Map(weights);
  for (const [name, tensor] of adapters) {
    if (!name.endsWith('.lora_A.weight')) continue;
    const modulePath = name.slice(PEFT_PREFIX.length, -'.lora_A.weight'.length);
    const b = adapters.get(loraTensorNames(modulePath).b);
    const base = weights.get(`${modulePath}.weight`);
    if (!b || !base) {
      throw new TunekitError({
        code: 'ADAPTER_KEYS_MISMATCH',
        status: 422,
        message: `Adapter "${modulePath}" has no lora_B or the model has no ${modulePath}.weight`,
        details: { modulePath },
      });
    }
    const [r, inFeatures] = tensor.shape as [number, number];
    const outFeatures = b.shape[0] as number;
    const data = Float32Array.from(base.data);
    for (let o = 0; o < outFeatures; o += 1) {
      for (let i = 0; i < inFeatures; i += 1) {
        let sum = 0;
        for (let k = 0; k < r; k += 1)
          sum += (b.data[o * r + k] as number) * (tensor.data[k * inFeatures + i] as number);
        const target = options.fanInFanOut ? i * outFeatures + o : o * inFeatures + i;
        data[target] = (data[target] as number) + scaling * sum;
      }
    }
    merged.set(`${modulePath}.weight`, { shape: [...base.shape], data } satisfies FloatTensor);
  }
  return merged;
}
