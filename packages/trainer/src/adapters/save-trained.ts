import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyModulesToSave } from '../lora/apply-modules-to-save.js';
import { mergeLora } from '../lora/lora-weights.js';
import { type CheckpointLayout, toCheckpointLayout } from '../models/checkpoint-layout.js';
import { writeSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { Trainer } from '../train/create-trainer.js';
import { savePeftAdapter } from './peft-adapter.js';

/**
 * Writes a Hugging Face model folder: `config.json`, `model.safetensors` (float32),
 * `generation_config.json` and the tokenizer files. With the `layout` the model was loaded with, the
 * tensors are written under the names and in the order of that checkpoint (GPT-2's `h.0.…` without
 * `transformer.`, buffers and tied copies included), one file (shards are not written back).
 */
export async function saveModelFolder(
  directory: string,
  model: { config: unknown; weights: TensorMap; layout?: CheckpointLayout },
  tokenizer?: Tokenizer,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeSafetensors(
    join(directory, 'model.safetensors'),
    toCheckpointLayout(model.weights, model.layout),
    {
      metadata: { format: 'pt' },
    },
  );
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
      ...(trainer.model.architecture.task === 'sequence-classification'
        ? { taskType: 'SEQ_CLS' as const, modulesToSave: ['classifier'] }
        : {}),
    });
  } else {
    await saveModelFolder(directory, trainer.model, trainer.tokenizer);
  }
  return directory;
}

/**
 * Merge-and-save: folds the trainer's LoRA adapters into the base weights (PEFT's
 * `merge_and_unload`: `W += scaling·(B·A)ᵀ` for GPT-2's Conv1D layout) and writes a plain Hugging
 * Face model folder that loads without PEFT. Without adapters it saves the (fully trained) model.
 */
export async function mergeAndSave(trainer: Trainer, directory: string): Promise<string> {
  const adapters = trainer.adapters;
  let weights = trainer.model.weights;
  if (adapters?.weights) {
    const modelType = (trainer.model.config as Record<string, unknown>).model_type;
    weights = applyModulesToSave(
      mergeLora(weights, adapters.weights, adapters.config, { fanInFanOut: modelType === 'gpt2' }),
      adapters.weights,
    );
  }
  await saveModelFolder(
    directory,
    { config: trainer.model.config, weights, layout: trainer.model.layout },
    trainer.tokenizer,
  );
  return directory;
}
