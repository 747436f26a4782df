import { z } from 'zod';

/** True when `pattern` compiles as a regular expression. */
function isRegularExpression(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

const PatternSchema = z.string().min(1).refine(isRegularExpression, 'not a valid regular expression');

/** A list of module names/suffixes (`c_attn`, `attn.c_attn`) or one regular expression matched against the whole module path. */
const ModuleSelectorSchema = z.union([z.array(z.string().min(1)).min(1), PatternSchema]);

/**
 * LoRA settings, named as in PEFT's `LoraConfig` / `adapter_config.json` (camelCase here; the
 * snake_case names only appear in `adapter_config.json`), with PEFT's meaning for each:
 * - `r`, `alpha`: rank and scaling `alpha / r` (`alpha / √r` with `rsLora`); `rankPattern` and
 *   `alphaPattern` override them per module (keys matched at the end of the module path, after a dot,
 *   as regular expressions: `{ "h\\.0\\.attn\\.c_attn": 8 }`, `{ "c_fc": 32 }`);
 * - `dropout` on the adapter input;
 * - `targetModules`: names or dotted suffixes (`c_attn`, `attn.c_attn`, a full path), or one regular
 *   expression matched against the whole module path (`.*\\.h\\.[01]\\.attn\\.c_attn`);
 *   `excludeModules` the same way; `layersToTransform` (with `layersPattern`, e.g. `h` or `layers`)
 *   limits a name list to some layer indices;
 * - `modulesToSave`: modules trained in full and saved with the adapter (a new head);
 * - `bias`: `none`, `all` (every bias trained and saved, as PEFT does) or `lora_only` (the biases of
 *   the adapted modules);
 * - `initLoraWeights`: `true` (A Kaiming-uniform, B zeros), `gaussian` (A normal, std 1/r),
 *   `false` (B random too: the adapter changes the model from the start), `pissa` (A, B from the
 *   principal singular vectors of each adapted weight, which keeps the residual), `pissa_niter_<K>`
 *   (the same from a randomized SVD with K subspace iterations) or `olora` (A, B from a QR
 *   decomposition): PEFT's definitions; the adapter is saved converted to a plain LoRA adapter of
 *   rank 2r for the original base, as PEFT's `path_initial_model_for_weight_conversion` does.
 * PEFT options Tunekit does not implement (DoRA, LoftQ/EVA/CorDA initialisation, `lora_bias`,
 * layer replication) are refused when an `adapter_config.json` asks for them
 * (`LORA_CONFIG_UNSUPPORTED`, naming the field).
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
    /** Modules to adapt; default: the architecture's (see below). */
    targetModules: ModuleSelectorSchema.optional(),
    excludeModules: ModuleSelectorSchema.optional(),
    layersToTransform: z.union([z.array(z.number().int().min(0)), z.number().int().min(0)]).optional(),
    layersPattern: z.union([z.array(z.string().min(1)), z.string().min(1)]).optional(),
    rankPattern: z.record(PatternSchema, z.number().int().positive()).default({}),
    alphaPattern: z.record(PatternSchema, z.number().positive()).default({}),
    rsLora: z.boolean().default(false),
    modulesToSave: z.array(z.string().min(1)).optional(),
    bias: z.enum(['none', 'all', 'lora_only']).default('none'),
    initLoraWeights: z
      .union([
        z.boolean(),
        z.enum(['gaussian', 'pissa', 'olora']),
        z.string().regex(/^pissa_niter_[1-9][0-9]*$/, 'expected pissa_niter_<K>'),
      ])
      .default(true),
  })
  .strict();

/** LoRA settings as callers write them (every field optional). */
export type LoraConfigInput = z.input<typeof LoraConfigSchema>;

/** LoRA settings after defaults (`targetModules` still optional: resolved per architecture by the trainer). */
export type LoraConfig = z.infer<typeof LoraConfigSchema>;
