import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseOrThrow, tunekitError } from '@tunekit/core';
import { z } from 'zod';
import { writeSafetensors } from '../safetensors/safetensors-file.js';
import { createByteLevelTokenizer } from '../tokenizers/byte-level-tokenizer.js';
import { getArchitecture } from './architecture-registry.js';

/**
 * The options of {@link createModel} besides the architecture's config keys: validated with zod, so a
 * misspelled option (`outputDir`) is a coded error naming it rather than a Node `TypeError`.
 */
export const CreateModelSettingsSchema = z.object({
  /** `gpt2`, `llama`, `qwen2`, `bert`, `roberta` or `distilbert`. */
  architecture: z.string().min(1),
  /** Folder to write `config.json`, `model.safetensors` (and `tokenizer.json`) into. */
  directory: z.string().min(1),
  /** Seed of the random initialisation (default 0). */
  seed: z.number().int().optional(),
  /**
   * Tokenizer to write next to the model: `byte-level` (UTF-8 bytes + `<|endoftext|>`, 257 ids) or
   * `none`. Default: `byte-level` for causal language models created without `vocab_size` (the
   * vocabulary then is the tokenizer's, with `bos`/`eos` inside it), `none` otherwise.
   */
  tokenizer: z.enum(['byte-level', 'none']).optional(),
});

/** Options of {@link createModel}: an architecture name, its config keys, a folder, a seed. */
export interface CreateModelOptions extends Record<string, unknown> {
  architecture: string;
  directory: string;
  seed?: number;
  tokenizer?: 'byte-level' | 'none';
}

const CAUSAL_LANGUAGE_MODELS = new Set(['gpt2', 'llama', 'qwen2', 'mistral']);

/** Config keys an architecture's schema declares (empty when it is not a plain object schema). */
function declaredKeys(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined && typeof shape === 'object' ? Object.keys(shape) : [];
}

/**
 * Writes a randomly initialised model folder (`config.json` + `model.safetensors`) for an
 * architecture, e.g. `createModel({ architecture: 'gpt2', n_layer: 2, n_embd: 64, directory })`, so
 * tests, examples and users without downloads have a real model to train. A causal language model
 * created without `vocab_size` gets the byte-level vocabulary (257 ids, `bos`/`eos` = 256) and its
 * `tokenizer.json`, so it trains at once and fast; pass `vocab_size` (and write your tokenizer) for
 * another vocabulary. Returns the parsed config.
 *
 * @throws `VALIDATION_FAILED` naming an unknown option (with the known ones) or a bad config value;
 *   `MODEL_UNKNOWN_ARCHITECTURE` for an architecture Tunekit cannot build.
 */
export async function createModel(options: CreateModelOptions): Promise<Record<string, unknown>> {
  const settingsKeys = Object.keys(CreateModelSettingsSchema.shape);
  const settings = parseOrThrow(
    CreateModelSettingsSchema,
    Object.fromEntries(Object.entries(options ?? {}).filter(([key]) => settingsKeys.includes(key))),
    'createModel options',
  );
  const architecture = getArchitecture(settings.architecture);
  const name = settings.architecture;
  const rest = Object.fromEntries(Object.entries(options).filter(([key]) => !settingsKeys.includes(key)));
  const known = declaredKeys(architecture.configSchema);
  const unknown = known.length === 0 ? [] : Object.keys(rest).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Unknown createModel option${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')} for ${name}: use ${[...settingsKeys, ...known.filter((key) => key !== 'model_type')].join(', ')}`,
      {
        what: 'createModel options',
        issues: unknown.map((key) => ({ path: key, message: 'unknown option' })),
      },
    );
  }
  const causal = CAUSAL_LANGUAGE_MODELS.has(name);
  const tokenizerKind =
    settings.tokenizer ?? (causal && rest.vocab_size === undefined ? 'byte-level' : 'none');
  const tokenizer = tokenizerKind === 'byte-level' ? createByteLevelTokenizer() : undefined;
  const endOfText = tokenizer?.specialTokens.eos;
  const defaults =
    tokenizer === undefined
      ? {}
      : { vocab_size: tokenizer.vocabSize, bos_token_id: endOfText, eos_token_id: endOfText };
  const parsed = architecture.configSchema.safeParse({ model_type: name, ...defaults, ...rest });
  if (!parsed.success) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Invalid ${name} config: ${parsed.error.issues.map((issue: z.core.$ZodIssue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      { issues: parsed.error.issues },
    );
  }
  const config = parsed.data as Record<string, unknown>;
  if (
    tokenizer !== undefined &&
    typeof config.vocab_size === 'number' &&
    config.vocab_size < tokenizer.vocabSize
  ) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `vocab_size ${config.vocab_size} is smaller than the byte-level tokenizer's ${tokenizer.vocabSize} ids (pass tokenizer: 'none' and write your own)`,
      { issues: [{ path: 'vocab_size', message: 'smaller than the tokenizer' }] },
    );
  }
  await mkdir(settings.directory, { recursive: true });
  await writeFile(join(settings.directory, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeSafetensors(
    join(settings.directory, 'model.safetensors'),
    architecture.createRandomWeights(config, settings.seed ?? 0),
  );
  if (tokenizer !== undefined) await tokenizer.save(settings.directory);
  return config;
}
