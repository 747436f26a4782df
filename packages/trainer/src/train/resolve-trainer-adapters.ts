import { type LoraConfigInput, tunekitError } from '@tunekit/core';
import { adapterKeyReport, checkAdapterKeys } from '../lora/adapter-key-report.js';
import {
  type BaseWeightInitialization,
  initializeFromBaseWeights,
  isBaseWeightInitialization,
} from '../lora/initialize-from-base-weights.js';
import { DEFAULT_LORA_TARGET_MODULES, resolveLoraConfig } from '../lora/lora-config.js';
import { isLoraTarget } from '../lora/lora-weights.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import { modelType } from './resolve-model.js';
import type { TrainerModel } from './trainer.js';

/** What {@link resolveTrainerAdapters} returns: the model to train and its adapters (if any). */
export interface ResolvedTrainerAdapters {
  /** The model; a new object with residual base weights after a PiSSA/OLoRA initialization. */
  model: TrainerModel;
  /** The adapters to train, or `undefined` without `lora`. */
  adapters: LoraAdapters | undefined;
}

/**
 * Resolves `createTrainer`'s `lora` option against the model before anything runs: a LoRA config
 * (PEFT names, the model type's default target modules) or adapters with weights; fails with
 * `VALIDATION_FAILED` when the target modules match no module of the model, checks the keys of given
 * adapter weights (`checkAdapterKeys`), and initializes PiSSA/OLoRA adapters from the base weights
 * (the returned model then holds the residual weights; the caller's model is not changed).
 */
export function resolveTrainerAdapters(
  model: TrainerModel,
  lora: LoraConfigInput | LoraAdapters | undefined,
): ResolvedTrainerAdapters {
  let adapters: LoraAdapters | undefined;
  let resolved = model;
  if (lora) {
    adapters =
      'config' in lora && typeof lora.config === 'object'
        ? (lora as LoraAdapters)
        : { config: resolveLoraConfig(lora as LoraConfigInput, modelType(model.config)) };
  }
  if (adapters && model.architecture.loraTargetModules) {
    // Check the target names against the model now, not when the first step builds its graph.
    const modules = model.architecture.loraTargetModules(model.config);
    const config = adapters.config;
    if (!modules.some((module) => isLoraTarget(config, module.modulePath))) {
      const names = [...new Set(modules.map((module) => module.modulePath.split('.').at(-1)))];
      const type = modelType(model.config);
      throw tunekitError(
        'VALIDATION_FAILED',
        `LoRA targetModules [${String(config.targetModules)}] match no module of this ${type ?? model.architecture.name} model; its linear modules are ${names.join(', ')} (leave targetModules out for the default${type && DEFAULT_LORA_TARGET_MODULES[type] ? `, ${DEFAULT_LORA_TARGET_MODULES[type]?.join(', ')}` : ''})`,
        { issues: [{ path: 'lora.targetModules', message: 'match no module' }], modules: names },
      );
    }
  }
  if (adapters?.weights && adapters.strict !== false && model.architecture.loraTargetModules) {
    // Refuse an adapter that would change nothing or leave tensors unused before anything runs.
    const modules = model.architecture.loraTargetModules(model.config);
    const config = adapters.config;
    checkAdapterKeys(
      adapterKeyReport(
        modules.map((module) => module.modulePath).filter((modulePath) => isLoraTarget(config, modulePath)),
        adapters.weights,
      ),
    );
  }
  if (
    adapters &&
    !adapters.weights &&
    isBaseWeightInitialization(adapters.config.initLoraWeights) &&
    model.architecture.loraTargetModules
  ) {
    // PiSSA / OLoRA: the adapters start from each targeted weight's decomposition and the base keeps
    // the residual (a new weights map: the caller's model is not changed).
    const config = adapters.config;
    const initialised = initializeFromBaseWeights(
      { ...config, initLoraWeights: config.initLoraWeights as BaseWeightInitialization },
      model.architecture
        .loraTargetModules(model.config)
        .filter((module) => isLoraTarget(config, module.modulePath)),
      model.weights,
      { fanInFanOut: modelType(model.config) === 'gpt2', seed: adapters.seed ?? 0 },
    );
    resolved = { ...model, weights: initialised.weights };
    adapters = {
      ...adapters,
      weights: initialised.adapters,
      initialWeights: new Map(
        [...initialised.adapters].map(([name, tensor]) => [
          name,
          { shape: [...tensor.shape], data: tensor.data.slice() },
        ]),
      ),
    };
  }
  return { model: resolved, adapters };
}
