import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LoraConfigSchema, tunekitError } from '@tunekit/core';
import { adapterKeyReport, checkAdapterKeys } from '../lora/adapter-key-report.js';
import { type ResolvedLoraConfig, resolveLoraConfig } from '../lora/lora-config.js';
import { loraModuleSettings } from '../lora/lora-module-settings.js';
import { isLoraTarget } from '../lora/lora-weights.js';
import {
  baseTensorName,
  isLoraTensorName,
  isTensorOfModule,
  loraPartnerName,
  loraTensorName,
  parseLoraTensorName,
  withoutAdapterName,
} from '../lora/peft-names.js';
import type { LoadedModel } from '../models/load-model.js';
import type { LoadReport } from '../models/load-report.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import { readSafetensors, type SafetensorsDtype, writeSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { convertBaseWeightAdapter } from './convert-base-weight-adapter.js';
import { loraConfigToPeftConfig, peftConfigToLoraConfig } from './peft-lora-config.js';

/** File names of a PEFT adapter folder. */
export const PEFT_CONFIG_FILE = 'adapter_config.json';
/** File names of a PEFT adapter folder. */
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';

/** The adapter's tensors with PEFT's in-memory adapter name dropped (`lora_A.default.weight` → `lora_A.weight`). */
function normalizeAdapterKeys(weights: TensorMap): TensorMap {
  const normalized: TensorMap = new Map();
  for (const [key, tensor] of weights) normalized.set(withoutAdapterName(key), tensor);
  return normalized;
}

/** LoRA tensors whose partner (`lora_B` of a `lora_A` and back) is absent: the names of the absent ones. */
function pairAdapterKeys(weights: TensorMap): string[] {
  const normalized = normalizeAdapterKeys(weights);
  const missing: string[] = [];
  for (const key of normalized.keys()) {
    const partner = loraPartnerName(key);
    if (partner && !normalized.has(partner)) missing.push(partner);
  }
  return missing;
}

/** LoRA tensors of modules that the config's `target_modules` do not select. */
function untargetedKeys(weights: TensorMap, config: ResolvedLoraConfig): string[] {
  const unexpected: string[] = [];
  for (const key of normalizeAdapterKeys(weights).keys()) {
    const parsed = parseLoraTensorName(key);
    if (parsed && !isLoraTarget(config, parsed.modulePath)) unexpected.push(key);
  }
  return unexpected;
}

/** Options of {@link savePeftAdapter}. */
export interface SavePeftAdapterOptions {
  /** `base_model_name_or_path` (the base model folder or hub id). */
  baseModel?: string;
  /** `model_type` of the base (`gpt2` stores Conv1D weights: PEFT sets `fan_in_fan_out: true`). */
  modelType?: string;
  /** PEFT `task_type` (default `CAUSAL_LM`; sequence classifiers use `SEQ_CLS`). */
  taskType?: 'CAUSAL_LM' | 'SEQ_CLS';
  /** Modules trained in full and saved with the adapter (PEFT `modules_to_save`, e.g. `['classifier']`). */
  modulesToSave?: string[];
  /** Storage type of the adapter tensors: F32 (default, as PEFT saves adapters), F16 or BF16. */
  dtype?: SafetensorsDtype;
}

/**
 * PEFT's `adapter_config.json` for a LoRA adapter: every LoRA field of the settings (see
 * `loraConfigToPeftConfig`), with `modules_to_save` including `options.modulesToSave`.
 */
export function peftAdapterConfig(
  config: ResolvedLoraConfig,
  options: SavePeftAdapterOptions = {},
): Record<string, unknown> {
  return loraConfigToPeftConfig(config, options);
}

/** Whether a non-LoRA adapter tensor (`base_model.model.<name>`) is one the settings train in full. */
function isSavedTensor(key: string, config: ResolvedLoraConfig, modulesToSave: readonly string[]): boolean {
  const name = baseTensorName(key);
  if (name === undefined) return false;
  const ofModule = modulesToSave.some((module) => isTensorOfModule(name, module));
  const bias =
    (config.bias === 'all' && name.includes('bias')) ||
    (config.bias === 'lora_only' &&
      name.endsWith('.bias') &&
      isLoraTarget(config, name.slice(0, -'.bias'.length)));
  return ofModule || bias;
}

/**
 * Checks PEFT key names and shapes (`lora_A` `[r, in]`, `lora_B` `[out, r]`, with each module's rank
 * from `rankPattern`); returns the weights without adapter names. Tensors trained in full
 * (`modulesToSave`, and biases with `bias` `all`/`lora_only`: `base_model.model.classifier.weight`,
 * `base_model.model.<module>.bias`) are kept as they are.
 */
export function validatePeftWeights(
  weights: TensorMap,
  config: ResolvedLoraConfig,
  modulesToSave: readonly string[] = [],
): TensorMap {
  const saved = [...new Set([...(config.modulesToSave ?? []), ...modulesToSave])];
  const normalized: TensorMap = new Map();
  for (const [key, tensor] of weights) {
    if (!isLoraTensorName(key) && isSavedTensor(key, config, saved)) {
      normalized.set(key, tensor);
      continue;
    }
    const parsed = parseLoraTensorName(key);
    if (!parsed) {
      throw tunekitError(
        'ADAPTER_INVALID',
        `"${key}" is not a PEFT LoRA key (base_model.model.<module>.lora_A|lora_B.weight) nor a tensor the config trains in full (modules_to_save, bias)`,
      );
    }
    const { modulePath, matrix } = parsed;
    const targeted = isLoraTarget(config, modulePath);
    const rank = loraModuleSettings(config, modulePath).r;
    const rankAxis = matrix === 'A' ? 0 : 1;
    if (!targeted || tensor.shape.length !== 2 || tensor.shape[rankAxis] !== rank) {
      throw tunekitError(
        'ADAPTER_INVALID',
        `${key} has shape [${tensor.shape.join(', ')}]; expected rank ${rank} on axis ${rankAxis} of a targeted module (${String(config.targetModules)})`,
      );
    }
    normalized.set(loraTensorName(modulePath, matrix), tensor);
  }
  return normalized;
}

/** Writes `adapter_config.json` + `adapter_model.safetensors` in PEFT's format. */
export async function savePeftAdapter(
  directory: string,
  adapters: LoraAdapters,
  options: SavePeftAdapterOptions = {},
): Promise<void> {
  if (!adapters.weights || adapters.weights.size === 0) {
    throw tunekitError('ADAPTER_INVALID', 'The adapters have no weights yet (train first)');
  }
  // A PiSSA/OLoRA adapter is saved converted to LoRA for the original base (rank 2r), as PEFT's
  // path_initial_model_for_weight_conversion does.
  const saved = convertBaseWeightAdapter(adapters);
  const weights = validatePeftWeights(saved.weights as TensorMap, saved.config, options.modulesToSave);
  await mkdir(directory, { recursive: true });
  await writeSafetensors(join(directory, PEFT_WEIGHTS_FILE), weights, {
    dtype: options.dtype ?? 'F32',
    metadata: { format: 'pt' },
  });
  await writeFile(
    join(directory, PEFT_CONFIG_FILE),
    `${JSON.stringify(peftAdapterConfig(saved.config, options), null, 2)}\n`,
  );
}

/** Options of {@link loadPeftAdapter}. */
export interface LoadPeftAdapterOptions {
  /**
   * The model the adapter is for (as `loadModel` returns it): its LoRA tensors are matched against
   * the modules the config targets in that model, and the result is in `report`.
   */
  model?: Pick<LoadedModel, 'architecture' | 'config'>;
  /**
   * Refuse (`ADAPTER_KEYS_MISMATCH`) an adapter that would change nothing or leaves tensors unused
   * (default true); false only warns through `onWarning`, and the adapters keep `strict: false`.
   */
  strict?: boolean;
  /** Called with each mismatch let through by `strict: false`. */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/**
 * Reads a PEFT LoRA adapter folder (ours or one saved by PEFT's `save_pretrained`). The result's
 * `report` lists, as PEFT does, `missingKeys` (LoRA tensors of targeted modules the file lacks) and
 * `unexpectedKeys` (tensors that name no targeted module); either refuses the adapter with
 * `ADAPTER_KEYS_MISMATCH` unless `strict: false`. Without `model` the keys are matched against the
 * config's `target_modules` only; the full check then happens when the adapter meets a model.
 */
export async function loadPeftAdapter(
  directory: string,
  options: LoadPeftAdapterOptions = {},
): Promise<LoraAdapters & { report: LoadReport }> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(join(directory, PEFT_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw tunekitError(
      'ADAPTER_INVALID',
      `Cannot read ${join(directory, PEFT_CONFIG_FILE)}: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
  if (raw.peft_type !== 'LORA') {
    throw tunekitError(
      'ADAPTER_INVALID',
      `Only LoRA adapters are supported, got peft_type ${String(raw.peft_type)}`,
    );
  }
  const parsed = LoraConfigSchema.safeParse(peftConfigToLoraConfig(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw tunekitError(
      'ADAPTER_INVALID',
      `${join(directory, PEFT_CONFIG_FILE)}: ${parsed.error.issues.map((item) => `${item.path.join('.')}: ${item.message}`).join('; ')}`,
      { field: issue?.path.join('.'), issues: parsed.error.issues },
    );
  }
  const modelType = (options.model?.config as { model_type?: unknown } | undefined)?.model_type;
  const config = resolveLoraConfig(parsed.data, typeof modelType === 'string' ? modelType : undefined);
  const weights = await readSafetensors(join(directory, PEFT_WEIGHTS_FILE));
  const modulesToSave = config.modulesToSave ?? [];
  const strict = options.strict ?? true;
  const unpaired = pairAdapterKeys(weights);
  let report: LoadReport;
  if (options.model) {
    const modules = options.model.architecture.loraTargetModules?.(options.model.config) ?? [];
    const targeted = modules
      .map((module) => module.modulePath)
      .filter((modulePath) => isLoraTarget(config, modulePath));
    report = adapterKeyReport(targeted, normalizeAdapterKeys(weights));
  } else {
    report = { missingKeys: unpaired, unexpectedKeys: untargetedKeys(weights, config) };
  }
  checkAdapterKeys(report, { strict, onWarning: options.onWarning, source: directory });
  const unexpected = new Set(report.unexpectedKeys);
  const kept: TensorMap = new Map(
    [...normalizeAdapterKeys(weights)].filter(([name]) => !unexpected.has(name)),
  );
  return {
    config,
    weights: validatePeftWeights(kept, config, modulesToSave),
    report,
    ...(strict ? {} : { strict: false }),
  };
}
