import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseOrThrow } from '@tunekit/core';
import { applyModulesToSave } from '../lora/apply-modules-to-save.js';
import { mergeLora } from '../lora/lora-weights.js';
import { peftTensorName } from '../lora/peft-names.js';
import {
  type CheckpointDtype,
  type CheckpointLayout,
  checkpointDtypes,
  toCheckpointLayout,
} from '../models/checkpoint-layout.js';
import type { SafetensorsDtype } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import {
  type WrittenSafetensorsShards,
  writeSafetensorsShards,
} from '../safetensors/write-safetensors-shards.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { Trainer } from '../train/trainer.js';
import { savePeftAdapter } from './peft-adapter.js';
import { type SaveModelOptions, SaveModelOptionsSchema } from './save-model-options.js';

/** `config.json`'s name of each storage type (`torch_dtype`). */
const TORCH_DTYPE: Record<CheckpointDtype, string> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
};

/**
 * Writes a Hugging Face model folder: `config.json`, the weights, `generation_config.json` and the
 * tokenizer files. With the `layout` the model was loaded with, the tensors are written under the
 * names and in the order of that checkpoint (GPT-2's `h.0.…` without `transformer.`, buffers and tied
 * copies included) and, by default, each in the dtype it was read in (a BF16 checkpoint stays BF16).
 * The weights go to `model.safetensors`, or, past `maxShardSize` (default 5GB), to
 * `model-0000i-of-0000N.safetensors` shards with `model.safetensors.index.json`, split as
 * transformers' `save_pretrained` splits them. Returns what was written.
 */
export async function saveModelFolder(
  directory: string,
  model: { config: unknown; weights: TensorMap; layout?: CheckpointLayout },
  tokenizer?: Tokenizer,
  options: SaveModelOptions = {},
): Promise<WrittenSafetensorsShards> {
  const { dtype, maxShardSize } = parseOrThrow(SaveModelOptionsSchema, options, 'save options');
  await mkdir(directory, { recursive: true });
  const tensors = toCheckpointLayout(model.weights, model.layout);
  const dtypes = new Map<string, SafetensorsDtype>(
    dtype === 'auto' ? checkpointDtypes(tensors.keys(), model.layout) : [],
  );
  // Integer buffers (RoBERTa's position_ids) stay int64 whatever the floats are converted to.
  for (const tensor of model.layout?.tensors ?? [])
    if (tensor.dtype === 'I64') dtypes.set(tensor.name, 'I64');
  const written = await writeSafetensorsShards(directory, tensors, {
    dtypes,
    ...(dtype === 'auto' ? {} : { dtype }),
    maxShardSize,
  });
  const config = { ...(model.config as Record<string, unknown>) };
  if (dtype !== 'auto') {
    // transformers ≥ 4.56 names the field `dtype`; earlier versions `torch_dtype`.
    config[
      Object.hasOwn(config, 'dtype') && !Object.hasOwn(config, 'torch_dtype') ? 'dtype' : 'torch_dtype'
    ] = TORCH_DTYPE[dtype];
  }
  await writeFile(join(directory, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
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
  return written;
}

/**
 * Top-level head modules (other than `classifier`, which PEFT's SEQ_CLS saves anyway) whose weights
 * the checkpoint lacked and `loadModel` initialised, from the load report's `missingKeys`.
 */
function initialisedHeadModules(model: { report?: { missingKeys: string[] } }): string[] {
  const modules = new Set((model.report?.missingKeys ?? []).map((key) => key.split('.')[0] as string));
  modules.delete('classifier');
  return [...modules];
}

/**
 * Saves what a trainer trained: the PEFT adapter (`adapter_config.json` +
 * `adapter_model.safetensors`) when it trains LoRA adapters, else the full model folder.
 * Returns the directory.
 */
export async function saveTrained(
  trainer: Trainer,
  directory: string,
  options: SaveModelOptions = {},
): Promise<string> {
  let adapters = trainer.adapters;
  if (adapters) {
    const classification = trainer.model.architecture.task === 'sequence-classification';
    const initialised = classification ? initialisedHeadModules(trainer.model) : [];
    if (initialised.length > 0 && adapters.weights) {
      // A head the checkpoint lacked and LoRA does not train (DistilBERT's pre_classifier on a
      // pretraining checkpoint) was initialised from Tunekit's seed: save it with the adapter, or
      // PEFT (and any other seed) would start from another random head.
      const weights = new Map(adapters.weights);
      for (const [name, tensor] of trainer.model.weights) {
        if (initialised.some((module) => name.startsWith(`${module}.`)))
          weights.set(peftTensorName(name), tensor);
      }
      adapters = { ...adapters, weights };
    }
    await savePeftAdapter(directory, adapters, {
      baseModel: trainer.model.directory,
      modelType: (trainer.model.config as Record<string, unknown>).model_type as string | undefined,
      ...(classification
        ? { taskType: 'SEQ_CLS' as const, modulesToSave: ['classifier', ...initialised] }
        : {}),
      // PEFT keeps adapters in float32 whatever the base's dtype; only an explicit dtype changes that.
      dtype: options.dtype === undefined || options.dtype === 'auto' ? 'F32' : options.dtype,
    });
  } else {
    await saveModelFolder(directory, trainer.model, trainer.tokenizer, options);
  }
  return directory;
}

/**
 * Merge-and-save: folds the trainer's LoRA adapters into the base weights (PEFT's
 * `merge_and_unload`: `W += scaling·(B·A)ᵀ` for GPT-2's Conv1D layout) and writes a plain Hugging
 * Face model folder that loads without PEFT, in the checkpoint's dtypes and sharded past
 * `maxShardSize` (see {@link saveModelFolder}). Without adapters it saves the (fully trained) model.
 */
export async function mergeAndSave(
  trainer: Trainer,
  directory: string,
  options: SaveModelOptions = {},
): Promise<string> {
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
    options,
  );
  return directory;
}
