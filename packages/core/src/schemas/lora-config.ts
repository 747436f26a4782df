import { z } from 'zod';

/**
 * LoRA settings, named as in PEFT's `LoraConfig` / `adapter_config.json` (camelCase here): rank `r`,
 * `alpha` (scaling `alpha / r`, or `alpha / sqrt(r)` with `rsLora`), `dropout` on the adapter input,
 * and the module names the adapters attach to (`c_attn`, `q_proj`, `v_proj`, `query` …).
 *
 * This is the one LoRA contract of Tunekit: the training job input, the trainer, PEFT adapter files
 * and the HTTP API all use it. `targetModules` may be left out: the trainer then picks the
 * architecture's default (GPT-2 `c_attn`; Llama and Qwen2 `q_proj`, `v_proj`; BERT family `query`,
 * `value`) and checks any given names against the model.
 */
export const LoraConfigSchema = z
  .object({
    r: z.number().int().positive().default(8),
    alpha: z.number().positive().default(16),
    dropout: z.number().min(0).max(1).default(0),
    /** Module names to adapt; default: the architecture's (see above). */
    targetModules: z.array(z.string().min(1)).min(1).optional(),
    rsLora: z.boolean().default(false),
    bias: z.literal('none').default('none'),
  })
  .strict();

/** LoRA settings as callers write them (every field optional). */
export type LoraConfigInput = z.input<typeof LoraConfigSchema>;

/** LoRA settings after defaults (`targetModules` still optional: resolved per architecture by the trainer). */
export type LoraConfig = z.infer<typeof LoraConfigSchema>;
