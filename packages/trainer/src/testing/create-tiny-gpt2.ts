import { createModel } from '../models/create-model.js';
import { createByteLevelTokenizer } from '../tokenizers/byte-level-tokenizer.js';

/**
 * Writes a tiny GPT-2 folder (byte-level vocabulary of 257, 2 layers, width 32) with its
 * tokenizer, for tests of the trainer, worker, plugin and example.
 */
export async function createTinyGpt2(
  directory: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const tokenizer = createByteLevelTokenizer();
  await createModel({
    architecture: 'gpt2',
    directory,
    vocab_size: tokenizer.vocabSize,
    n_positions: 64,
    n_embd: 32,
    n_layer: 2,
    n_head: 2,
    bos_token_id: 256,
    eos_token_id: 256,
    seed: 7,
    ...overrides,
  });
  await tokenizer.save(directory);
  return directory;
}
