import { z } from 'zod';

/**
 * GPT-2 settings as in Hugging Face's `config.json` (`GPT2Config`); unknown keys are kept so a
 * config read from the hub is written back unchanged.
 */
export const Gpt2ConfigSchema = z.looseObject({
  model_type: z.literal('gpt2').default('gpt2'),
  vocab_size: z.number().int().positive().default(50257),
  n_positions: z.number().int().positive().default(1024),
  n_embd: z.number().int().positive().default(768),
  n_layer: z.number().int().positive().default(12),
  n_head: z.number().int().positive().default(12),
  n_inner: z.number().int().positive().nullable().default(null),
  activation_function: z.enum(['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu']).default('gelu_new'),
  resid_pdrop: z.number().min(0).max(1).default(0.1),
  embd_pdrop: z.number().min(0).max(1).default(0.1),
  attn_pdrop: z.number().min(0).max(1).default(0.1),
  layer_norm_epsilon: z.number().positive().default(1e-5),
  initializer_range: z.number().positive().default(0.02),
  scale_attn_weights: z.boolean().default(true),
  tie_word_embeddings: z.boolean().default(true),
  bos_token_id: z.number().int().default(50256),
  eos_token_id: z.number().int().default(50256),
  architectures: z.array(z.string()).default(['GPT2LMHeadModel']),
});

/** Parsed GPT-2 config. */
export type Gpt2Config = z.infer<typeof Gpt2ConfigSchema>;

/** Hidden size of the MLP (`n_inner`, or 4 × `n_embd`). */
export function gpt2InnerSize(config: Gpt2Config): number {
  return config.n_inner ?? 4 * config.n_embd;
}
