import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { Trainer } from '../train/create-trainer.js';
import { savePeftAdapter } from './peft-adapter.js';

/**
 * Writes a Hugging Face model folder: `config.json`, `model.safetensors` (float32, Hugging Face
 * names), `generation_config.json` and the tokenizer files.
 */
export async function saveModelFolder(
  directory: string,
  model: { config: unknown; weights: TensorMap },
  tokenizer?: Tokenizer,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeSafetensors(join(directory, 'model.safetensors'), model.weights, { metadata: { format: 'pt' } });
  await writeFile(join(directory, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);
  const config = model.config as Record<string, unknown>;
  await writeFile(
    join(directory, 'generation_config.json'),
    `${JSON.stringify(
      {
        bos_token_id: config.bos_token_id ?? tokenizer?.specialTokens.bos ?? tokenizer?.specialTokens.eos,
        eos_token_id: config.eos_token_id ?? tokenizer?.specialTokens.eos,
      },
      null,
      2,
    )}\n`,
  );
  await tokenizer?.save(directory);
}

/**
 * Saves what a trainer trained: the PEFT adapter (`adapter_config.json` +
 * `adapter_model.safetensors`) when it trains LoRA adapters, else the full model folder.
 * Returns the directory.
 */
export async function saveTrained(trainer: Trainer, directory: string): Promise<string> {
  const adapters = trainer.adapters;
  if (adapters) {
    await savePeftAdapter(directory, adapters, {
      baseModel: trainer.model.directory,
      modelType: (trainer.model.config as Record<string, unknown>).model_type as string | undefined,
    });
  } else {
    await saveModelFolder(directory, trainer.model, trainer.tokenizer);
  }
  return directory;
}
