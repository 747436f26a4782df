import { type TunekitError, tunekitError } from '@tunekit/core';
import type { LoraTargeting } from '../lora/lora-module-settings.js';

/**
 * Fields of PEFT's `adapter_config.json` that describe the file or the runtime rather than the
 * adapter, or only matter together with an option that is refused when set (`megatron_core` with
 * `megatron_config`, `qalora_group_size` with `use_qalora`); read without effect on the weights.
 */
const INFORMATIONAL_FIELDS = new Set([
  'peft_type',
  'task_type',
  'base_model_name_or_path',
  'revision',
  'inference_mode',
  'auto_mapping',
  'peft_version',
  'fan_in_fan_out',
  'megatron_core',
  'qalora_group_size',
  'runtime_config',
]);

/** PEFT fields Tunekit maps to its LoRA settings (snake_case → camelCase). */
const MAPPED_FIELDS: Readonly<Record<string, string>> = {
  r: 'r',
  lora_alpha: 'alpha',
  lora_dropout: 'dropout',
  target_modules: 'targetModules',
  exclude_modules: 'excludeModules',
  layers_to_transform: 'layersToTransform',
  layers_pattern: 'layersPattern',
  rank_pattern: 'rankPattern',
  alpha_pattern: 'alphaPattern',
  use_rslora: 'rsLora',
  modules_to_save: 'modulesToSave',
  bias: 'bias',
  init_lora_weights: 'initLoraWeights',
};

/** Whether a value is PEFT's "off" for a field Tunekit does not implement (null, false, empty). */
function isOff(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value as object).length === 0;
  return false;
}

function unsupported(field: string, value: unknown, reason: string): TunekitError {
  return tunekitError(
    'LORA_CONFIG_UNSUPPORTED',
    `adapter_config.json field "${field}" = ${JSON.stringify(value)} is not supported: ${reason}`,
    { field, value },
  );
}

/**
 * Maps a PEFT `adapter_config.json` (LoRA) to Tunekit's LoRA settings (camelCase, to be parsed with
 * `LoraConfigSchema`). Every field is either mapped, informational (`task_type`,
 * `base_model_name_or_path` …; `fan_in_fan_out`, which PEFT itself sets from the layer type: true for
 * GPT-2's Conv1D, false for Linear), or refused with `LORA_CONFIG_UNSUPPORTED` naming it when it asks
 * for something Tunekit does not implement (`use_dora`, `lora_bias`, `layer_replication`, LoftQ,
 * `init_lora_weights` `pissa`/`olora`/`loftq`/`eva`/`corda`, …): an adapter is never loaded with a
 * setting silently dropped. Unknown fields whose value is null, false or empty (PEFT's "off") are
 * accepted, so files from newer PEFT versions load.
 */
export function peftConfigToLoraConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    if (INFORMATIONAL_FIELDS.has(field)) continue;
    const mapped = MAPPED_FIELDS[field];
    if (mapped) {
      if (field === 'init_lora_weights' && value !== true && value !== false && value !== 'gaussian') {
        throw unsupported(
          field,
          value,
          typeof value === 'string' && /^(pissa|olora)/.test(value)
            ? 'an adapter saved with a PiSSA/OLoRA initialisation applies to the residual base that initialisation produced (and PEFT re-runs the decomposition when it loads it): save it converted with path_initial_model_for_weight_conversion (Tunekit saves such adapters converted), or set init_lora_weights to true and load it onto the residual model'
            : 'only true, false and "gaussian" when loading (loftq, eva, corda and orthogonal initialisations are not implemented)',
        );
      }
      if (value !== null && value !== undefined) config[mapped] = value;
      continue;
    }
    if (!isOff(value)) throw unsupported(field, value, 'Tunekit does not implement this PEFT option');
  }
  if (config.rankPattern !== undefined && isOff(config.rankPattern)) delete config.rankPattern;
  if (config.alphaPattern !== undefined && isOff(config.alphaPattern)) delete config.alphaPattern;
  return config;
}

/**
 * The LoRA settings {@link loraConfigToPeftConfig} writes (Tunekit's camelCase names): the targeting
 * settings ({@link LoraTargeting}) plus dropout, bias and initialisation.
 */
export interface PeftWritableLoraConfig extends LoraTargeting {
  dropout?: number;
  bias?: 'none' | 'all' | 'lora_only';
  initLoraWeights?: boolean | string;
}

/** File-level fields of {@link loraConfigToPeftConfig}. */
export interface PeftFileFields {
  baseModel?: string;
  /** `gpt2` stores Conv1D weights: PEFT writes `fan_in_fan_out: true`. */
  modelType?: string;
  taskType?: 'CAUSAL_LM' | 'SEQ_CLS';
  /** Extra `modules_to_save` (a classifier head), added to the config's own. */
  modulesToSave?: readonly string[];
}

/** PEFT's `adapter_config.json` for Tunekit's LoRA settings: every LoRA field PEFT reads, snake_case. */
export function loraConfigToPeftConfig(
  config: PeftWritableLoraConfig,
  file: PeftFileFields = {},
): Record<string, unknown> {
  const modulesToSave = [...new Set([...(config.modulesToSave ?? []), ...(file.modulesToSave ?? [])])];
  return {
    peft_type: 'LORA',
    task_type: file.taskType ?? 'CAUSAL_LM',
    base_model_name_or_path: file.baseModel ?? null,
    revision: null,
    inference_mode: true,
    r: config.r,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout ?? 0,
    target_modules:
      typeof config.targetModules === 'string' ? config.targetModules : [...(config.targetModules ?? [])],
    exclude_modules: config.excludeModules ?? null,
    fan_in_fan_out: file.modelType === 'gpt2',
    bias: config.bias ?? 'none',
    use_rslora: config.rsLora ?? false,
    use_dora: false,
    init_lora_weights: config.initLoraWeights ?? true,
    modules_to_save: modulesToSave.length > 0 ? modulesToSave : null,
    layers_to_transform: config.layersToTransform ?? null,
    layers_pattern: config.layersPattern ?? null,
    rank_pattern: { ...(config.rankPattern ?? {}) },
    alpha_pattern: { ...(config.alphaPattern ?? {}) },
  };
}
