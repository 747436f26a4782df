import {
  type LoraConfig,
  type LoraConfigInput,
  LoraConfigSchema,
  parseOrThrow,
  tunekitError,
} from '@tunekit/core';

/**
 * LoRA settings with the target modules resolved (names/suffixes, or one regular expression): what
 * the graph builders and adapter files use.
 */
export type ResolvedLoraConfig = LoraConfig & { targetModules: string[] | string };

/**
 * LoRA target modules by `model_type`, as PEFT's defaults
 * (`TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`): GPT-2 `c_attn`; Llama, Qwen2 and Mistral
 * `q_proj`, `v_proj`; BERT and RoBERTa `query`, `value`; DistilBERT `q_lin`, `v_lin`.
 */
export const DEFAULT_LORA_TARGET_MODULES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
  distilbert: ['q_lin', 'v_lin'],
});

/**
 * Parses LoRA settings (core's `LoraConfigSchema`) and fills `targetModules` with the default of
 * the model's `model_type` when they are not given. Throws `VALIDATION_FAILED` naming the bad fields,
 * or, without target modules for an unknown model type, asking for them.
 */
export function resolveLoraConfig(
  input: LoraConfigInput | undefined,
  modelType?: string,
): ResolvedLoraConfig {
  const parsed = parseOrThrow(LoraConfigSchema, input ?? {}, 'LoRA settings');
  if (parsed.targetModules !== undefined) return { ...parsed, targetModules: parsed.targetModules };
  const defaults = modelType === undefined ? undefined : DEFAULT_LORA_TARGET_MODULES[modelType];
  if (defaults === undefined) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `LoRA settings need targetModules: no default for model type "${modelType ?? 'unknown'}" (defaults exist for ${Object.keys(DEFAULT_LORA_TARGET_MODULES).join(', ')})`,
      { modelType },
    );
  }
  return { ...parsed, targetModules: [...defaults] };
}

/**
 * Scaling factor applied to `B·A` for the default rank and alpha: `alpha / r`, or `alpha / sqrt(r)`
 * with rsLoRA. Per-module values (`rankPattern`, `alphaPattern`) come from `loraModuleSettings`.
 */
export function loraScaling(config: LoraConfig): number {
  return config.rsLora ? config.alpha / Math.sqrt(config.r) : config.alpha / config.r;
}
