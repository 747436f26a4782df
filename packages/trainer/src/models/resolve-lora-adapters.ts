import { tunekitError } from '@tunekit/core';
import { adapterKeyReport, checkAdapterKeys } from '../lora/adapter-key-report.js';
import { initializeLoraWeights, isLoraTarget, type LoraTargetModule } from '../lora/lora-weights.js';
import { isLoraTensorName, isTensorOfModule, loraTensorNames, peftTensorName } from '../lora/peft-names.js';
import type { FloatTensor, TensorMap } from '../safetensors/tensor-map.js';
import type { LoraAdapters } from './model-architecture.js';

/** The targeted modules and their adapter tensors, as {@link resolveLoraAdapters} returns them. */
export interface ResolvedLoraAdapters {
  /** Module paths the adapters apply to, in the model's order. */
  modules: string[];
  /** LoRA A and B of every targeted module (PEFT names), in module order. */
  tensors: TensorMap;
}

/** How {@link resolveLoraAdapters} names the model in its error when no module is targeted. */
export interface LoraTargetDescription {
  /** The model as the message names it (`GPT-2`, `llama`, `bert` …). */
  modelName: string;
  /** The module names LoRA can target, listed in the message (`c_attn, c_proj, c_fc`). */
  moduleNames: string;
}

/**
 * Adapter tensors for the modules `lora` targets among `linearModules`: the given ones,
 * PEFT-initialised (A Kaiming-uniform, B zeros, seeded by `lora.seed`) for a new adapter. Throws
 * `VALIDATION_FAILED` when the target list matches no module, and `ADAPTER_KEYS_MISMATCH` when given
 * tensors name no targeted module or leave targeted modules without tensors (unless `lora.strict` is
 * false).
 */
export function resolveLoraAdapters(
  linearModules: readonly LoraTargetModule[],
  lora: LoraAdapters,
  description: LoraTargetDescription,
  baseWeights?: TensorMap,
): ResolvedLoraAdapters {
  const targets = linearModules.filter((module) => isLoraTarget(lora.config, module.modulePath));
  if (targets.length === 0) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `LoRA targetModules [${lora.config.targetModules}] match no ${description.modelName} module (${description.moduleNames})`,
      { targetModules: lora.config.targetModules },
    );
  }
  if (lora.weights && [...lora.weights.keys()].some(isLoraTensorName)) {
    checkAdapterKeys(
      adapterKeyReport(
        targets.map((module) => module.modulePath),
        lora.weights,
      ),
      { strict: lora.strict },
    );
  }
  // Only modules without tensors start from the seed (a PiSSA/OLoRA adapter always has all of them).
  const missing = targets.filter((module) => {
    const names = loraTensorNames(module.modulePath);
    return !lora.weights?.has(names.a) || !lora.weights?.has(names.b);
  });
  const initial =
    missing.length > 0 ? initializeLoraWeights(lora.config, targets, lora.seed ?? 0) : new Map();
  const tensors: TensorMap = new Map();
  for (const module of targets) {
    const names = loraTensorNames(module.modulePath);
    for (const name of [names.a, names.b]) {
      tensors.set(name, lora.weights?.get(name) ?? (initial.get(name) as FloatTensor));
    }
  }
  const modules = targets.map((module) => module.modulePath);
  if (baseWeights) {
    for (const name of savedTensorNames(lora.config, modules, baseWeights.keys())) {
      const peftName = peftTensorName(name);
      const base = baseWeights.get(name) as FloatTensor;
      tensors.set(
        peftName,
        lora.weights?.get(peftName) ?? { shape: [...base.shape], data: base.data.slice() },
      );
    }
  }
  return { modules, tensors };
}

/**
 * Base tensors that an adapter trains in full and saves (under `base_model.model.<name>`): those of
 * `modulesToSave` (PEFT matches a module name at the end of a dotted path, its tensors below it) and
 * the biases `bias` asks for: `all`, every tensor with `bias` in its name (as PEFT marks them
 * trainable, LayerNorm biases included); `lora_only`, the biases of the adapted modules.
 */
export function savedTensorNames(
  config: LoraAdapters['config'],
  adaptedModules: readonly string[],
  baseNames: Iterable<string>,
): string[] {
  const modulesToSave = (config as { modulesToSave?: readonly string[] | null }).modulesToSave ?? [];
  const bias = (config as { bias?: string }).bias ?? 'none';
  const adaptedBiases = new Set(adaptedModules.map((module) => `${module}.bias`));
  const saved: string[] = [];
  for (const name of baseNames) {
    const ofSavedModule = modulesToSave.some((module) => isTensorOfModule(name, module));
    const savedBias =
      (bias === 'all' && name.includes('bias')) || (bias === 'lora_only' && adaptedBiases.has(name));
    if (ofSavedModule || savedBias) saved.push(name);
  }
  return saved;
}
