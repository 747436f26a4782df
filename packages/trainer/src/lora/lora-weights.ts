import { tunekitError } from '@tunekit/core';
import { SeededRandom } from '@tunekit/core/statistics';
import type { FloatTensor, TensorMap } from '../safetensors/tensor-map.js';
import { isPeftTarget, type LoraTargeting, loraModuleSettings } from './lora-module-settings.js';
import { loraTensorNames, parseLoraTensorName } from './peft-names.js';

/**
 * Whether a module path (`transformer.h.0.attn.c_attn`) is adapted, by PEFT's rules (names, dotted
 * suffixes or one regular expression; `excludeModules`, `layersToTransform`; see `isPeftTarget`).
 */
export function isLoraTarget(config: LoraTargeting, modulePath: string): boolean {
  return isPeftTarget(config, modulePath);
}

/**
 * How fresh adapters start (PEFT `init_lora_weights`): `true` Kaiming-uniform A, `gaussian` normal A,
 * `false` random B too; `pissa`, `pissa_niter_<K>` and `olora` start from the base weights (see
 * `initializeFromBaseWeights`).
 */
export type LoraInitialization = boolean | string;

/** A linear layer that LoRA can adapt: its module path and input/output sizes. */
export interface LoraTargetModule {
  modulePath: string;
  inFeatures: number;
  outFeatures: number;
}

/**
 * PEFT's initialisation (`init_lora_weights`), with each module's rank from `rankPattern`:
 * `true` (default): `lora_A` `[r, in]` Kaiming-uniform with a = √5 (uniform in ±1/√in), `lora_B`
 * `[out, r]` zeros, so a fresh adapter leaves the model unchanged; `'gaussian'`: A normal with
 * standard deviation 1/r, B zeros; `false`: B as well as A drawn like nn.Linear's default (uniform in
 * ±1/√fan_in), so the adapter changes the model from the start (PEFT's testing option).
 */
export function initializeLoraWeights(
  config: LoraTargeting & { initLoraWeights?: LoraInitialization },
  modules: readonly LoraTargetModule[],
  seed: number,
): TensorMap {
  const random = new SeededRandom(seed);
  const uniform = (bound: number) => (random.next() * 2 - 1) * bound;
  const normal = () => {
    const u = 1 - random.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
  };
  const mode = config.initLoraWeights ?? true;
  if (typeof mode === 'string' && mode !== 'gaussian') {
    throw tunekitError(
      'LORA_CONFIG_UNSUPPORTED',
      `init_lora_weights "${mode}" starts from the base weights: create the adapters with initializeFromBaseWeights (createTrainer does), not from a seed`,
      { field: 'init_lora_weights', value: mode },
    );
  }
  const tensors: TensorMap = new Map();
  for (const module of modules) {
    const { r } = loraModuleSettings(config, module.modulePath);
    const names = loraTensorNames(module.modulePath);
    const a = new Float32Array(r * module.inFeatures);
    for (let index = 0; index < a.length; index += 1) {
      a[index] = mode === 'gaussian' ? normal() / r : uniform(1 / Math.sqrt(module.inFeatures));
    }
    const b = new Float32Array(module.outFeatures * r);
    if (mode === false)
      for (let index = 0; index < b.length; index += 1) b[index] = uniform(1 / Math.sqrt(r));
    tensors.set(names.a, { shape: [r, module.inFeatures], data: a });
    tensors.set(names.b, { shape: [module.outFeatures, r], data: b });
  }
  return tensors;
}

/**
 * Merges adapters into base weights: `W += scaling · (B·A)ᵀ` for Conv1D layout (`[in, out]`,
 * `fanInFanOut` true, GPT-2) or `W += scaling · B·A` for Linear layout (`[out, in]`), with each
 * module's scaling from `rankPattern`/`alphaPattern`/`rsLora` (see `loraModuleSettings`). Returns a
 * new map; untouched tensors are shared, merged ones are copies.
 */
export function mergeLora(
  weights: TensorMap,
  adapters: TensorMap,
  config: LoraTargeting,
  options: { fanInFanOut: boolean },
): TensorMap {
  const merged: TensorMap = new Map(weights);
  for (const [name, tensor] of adapters) {
    const parsed = parseLoraTensorName(name);
    if (parsed?.matrix !== 'A' || parsed.adapterName !== undefined) continue;
    const { modulePath } = parsed;
    const b = adapters.get(loraTensorNames(modulePath).b);
    const base = weights.get(`${modulePath}.weight`);
    if (!b || !base) {
      throw tunekitError(
        'ADAPTER_KEYS_MISMATCH',
        `Adapter "${modulePath}" has no lora_B or the model has no ${modulePath}.weight`,
        { modulePath },
      );
    }
    const { scaling } = loraModuleSettings(config, modulePath);
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
