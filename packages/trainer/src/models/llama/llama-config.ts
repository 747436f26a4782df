import { z } from 'zod';

/**
 * `rope_scaling` of a Hugging Face Llama-family config: the kind (`type` in older files, `rope_type`
 * in newer ones) and its parameters. Tunekit implements `default`, `linear` and `llama3`; other kinds
 * fail with `MODEL_UNSUPPORTED` when a graph is built.
 */
export const RopeScalingSchema = z.looseObject({
  type: z.string().optional(),
  rope_type: z.string().optional(),
  factor: z.number().positive().optional(),
  low_freq_factor: z.number().positive().optional(),
  high_freq_factor: z.number().positive().optional(),
  original_max_position_embeddings: z.number().int().positive().optional(),
});

/** Parsed `rope_scaling`. */
export type RopeScaling = z.infer<typeof RopeScalingSchema>;

function llamaFamilySchema<Type extends 'llama' | 'qwen2'>(modelType: Type, defaults: { vocabSize: number }) {
  return z.looseObject({
    model_type: z.literal(modelType).default(modelType),
    vocab_size: z.number().int().positive().default(defaults.vocabSize),
    hidden_size: z.number().int().positive().default(4096),
    intermediate_size: z.number().int().positive().default(11008),
    num_hidden_layers: z.number().int().positive().default(32),
    num_attention_heads: z.number().int().positive().default(32),
    /** Grouped-query attention: heads of keys/values (default: `num_attention_heads`). */
    num_key_value_heads: z.number().int().positive().nullable().default(null),
    /** Size of one head (default `hidden_size / num_attention_heads`). */
    head_dim: z.number().int().positive().nullable().default(null),
    max_position_embeddings: z.number().int().positive().default(2048),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: RopeScalingSchema.nullable().default(null),
    /** Llama: biases on q/k/v/o (Qwen2 always has q/k/v biases and none on o). */
    attention_bias: z.boolean().default(false),
    mlp_bias: z.boolean().default(false),
    attention_dropout: z.number().min(0).max(1).default(0),
    hidden_act: z.literal('silu').default('silu'),
    tie_word_embeddings: z.boolean().default(false),
    initializer_range: z.number().positive().default(0.02),
    use_sliding_window: z.literal(false).optional(),
    bos_token_id: z.number().int().nullable().optional(),
    eos_token_id: z
      .union([z.number().int(), z.array(z.number().int())])
      .nullable()
      .optional(),
    architectures: z
      .array(z.string())
      .default([modelType === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM']),
  });
}

/** Llama settings as in Hugging Face's `config.json` (`LlamaConfig`); unknown keys are kept. */
export const LlamaConfigSchema = llamaFamilySchema('llama', { vocabSize: 32000 });

/** Qwen2 settings as in Hugging Face's `config.json` (`Qwen2Config`); unknown keys are kept. */
export const Qwen2ConfigSchema = llamaFamilySchema('qwen2', { vocabSize: 151936 });

/** Parsed Llama-family config (`model_type` `llama` or `qwen2`). */
export type LlamaConfig = z.infer<typeof LlamaConfigSchema> | z.infer<typeof Qwen2ConfigSchema>;

/** Sizes derived from a Llama-family config. */
export interface LlamaDimensions {
  hidden: number;
  heads: number;
  keyValueHeads: number;
  headSize: number;
  intermediate: number;
  /** q/k/v projections carry biases (Qwen2, or Llama with `attention_bias`). */
  queryKeyValueBias: boolean;
  /** o_proj carries a bias (Llama with `attention_bias`). */
  outputBias: boolean;
}

/** Head counts, head size and bias flags of a Llama-family config. */
export function llamaDimensions(config: LlamaConfig): LlamaDimensions {
  const heads = config.num_attention_heads;
  return {
    hidden: config.hidden_size,
    heads,
    keyValueHeads: config.num_key_value_heads ?? heads,
    headSize: config.head_dim ?? config.hidden_size / heads,
    intermediate: config.intermediate_size,
    queryKeyValueBias: config.model_type === 'qwen2' || config.attention_bias,
    outputBias: config.model_type === 'llama' && config.attention_bias,
  };
}
