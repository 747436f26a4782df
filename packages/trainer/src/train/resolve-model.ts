import { TunekitError } from '@tunekit/core';
import { loadModel } from '../models/load-model.js';
import { createByteLevelTokenizer } from '../tokenizers/byte-level-tokenizer.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { TrainerModel } from './trainer.js';

/** The model's positions from a Hugging Face config (`n_positions`, `max_position_embeddings`). */
export function modelPositions(config: unknown): number {
  const record = config as Record<string, unknown>;
  const positions = record.n_positions ?? record.max_position_embeddings ?? record.n_ctx;
  return typeof positions === 'number' ? positions : 1024;
}

/** A model in memory as is, or a folder loaded with `loadModel` (its `directory` kept). */
export async function resolveModel(model: TrainerModel | string): Promise<TrainerModel> {
  if (typeof model !== 'string') return model;
  const loaded = await loadModel(model);
  return { ...(loaded as TrainerModel), directory: model };
}

/** The given tokenizer, a folder's `tokenizer.json`, the model folder's, else the byte-level tokenizer. */
export async function resolveTokenizer(
  tokenizer: Tokenizer | string | undefined,
  model: TrainerModel,
): Promise<Tokenizer> {
  if (tokenizer && typeof tokenizer !== 'string') return tokenizer;
  const { loadTokenizer } = await import('../tokenizers/load-tokenizer.js');
  if (typeof tokenizer === 'string') return loadTokenizer(tokenizer);
  if (model.directory) {
    try {
      return await loadTokenizer(model.directory);
    } catch (error) {
      if (!(TunekitError.isInstance(error) && error.code === 'TOKENIZER_NOT_FOUND')) throw error;
    }
  }
  return createByteLevelTokenizer();
}

/** The `model_type` of a model config (`gpt2`, `llama` …), when it has one. */
export function modelType(config: unknown): string | undefined {
  const value = (config as { model_type?: unknown }).model_type;
  return typeof value === 'string' ? value : undefined;
}
