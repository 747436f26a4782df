import { z } from 'zod';

/**
 * LoRA settings, named as in PEFT's `LoraConfig` / `adapter_config.json` (camelCase here): rank `r`,
 * `alpha` (scaling `alpha / r`, or `alpha / sqrt(r)` with `rsLora`), `dropout` on the adapter input,
 * and the module names the adapters attach to (`c_attn`, `q_proj`, `v_proj` …).
 */
export const LoraConfigSchema = z
  .object({
    r: z.number().int().positive().default(8),
    alpha: z.number().positive().default(16),
    dropout: z.number().min(0).max(1).default(0),
    targetModules: z.array(z.string().min(1)).min(1).default(['c_attn']),
    rsLora: z.boolean().default(false),
    bias: z.literal('none').default('none'),
  })
  .strict();

/** LoRA settings after defaults. */
export type LoraConfig = z.infer<typeof LoraConfigSchema>;
