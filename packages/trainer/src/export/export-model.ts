import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tunekitError } from '@tunekit/core';
import { z } from 'zod';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { applyModulesToSave } from '../lora/apply-modules-to-save.js';
import { mergeLora } from '../lora/lora-weights.js';
import { loadModel } from '../models/load-model.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';

/** Options of {@link exportModel}. */
export const ExportModelOptionsSchema = z.object({
  /** Only `onnx` (transformers.js' local layout). */
  format: z.literal('onnx').default('onnx'),
  /** Folder to write (created; files in it are overwritten). */
  outputDirectory: z.string().min(1),
  /** Initializer bytes above which `exportModel` refuses (transformers.js loads one embedded file). Default 1.5 GiB. */
  maxEmbeddedBytes: z
    .number()
    .int()
    .positive()
    .default(1.5 * 1024 ** 3),
});
/** Options of {@link exportModel} as callers pass them (plus the adapter and tokenizer, which zod does not check). */
export type ExportModelOptions = z.input<typeof ExportModelOptionsSchema> & {
  /** A PEFT adapter folder or adapters in memory, merged into the exported weights. */
  adapter?: string | LoraAdapters;
  /** The tokenizer to write (default: the tokenizer files of the model folder, copied). */
  tokenizer?: Tokenizer;
};

/** What {@link exportModel} wrote. */
export interface ExportedModel {
  directory: string;
  /** `onnx/model.onnx`. */
  modelPath: string;
  /** Graph inputs and outputs (transformers.js' names). */
  inputNames: string[];
  outputNames: string[];
  /** `text-generation` for decoders, `text-classification` for sequence classifiers. */
  task: 'text-generation' | 'text-classification';
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

/**
 * Exports a model folder (optionally with a PEFT adapter merged in: LoRA folded into the weights,
 * `modules_to_save` heads copied) as a merged inference model in the layout transformers.js loads
 * from a local folder: `config.json`, `generation_config.json` for decoders, the tokenizer files and
 * `onnx/model.onnx`. Decoders get the KV-cache graph (`input_ids`, `attention_mask`, `position_ids`,
 * `past_key_values.{i}.key|value` → `logits`, `present.{i}.key|value`); sequence classifiers
 * (`input_ids`, `attention_mask` → `logits`). Load it with `env.localModelPath` and
 * `local_files_only: true`.
 */
export async function exportModel(
  modelDirectory: string,
  options: ExportModelOptions,
): Promise<ExportedModel> {
  const parsed = ExportModelOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Invalid export options: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
      { issues: parsed.error.issues },
    );
  }
  const { outputDirectory, maxEmbeddedBytes } = parsed.data;
  const model = await loadModel(modelDirectory);
  const config = model.config as Record<string, unknown>;
  const classification = model.architecture.task === 'sequence-classification';
  let weights = model.weights;
  if (options.adapter) {
    const adapters =
      typeof options.adapter === 'string'
        ? await loadPeftAdapter(options.adapter, { model })
        : options.adapter;
    if (adapters.weights) {
      weights = applyModulesToSave(
        mergeLora(weights, adapters.weights, adapters.config, { fanInFanOut: config.model_type === 'gpt2' }),
        adapters.weights,
      );
    }
  }
  let bytes = 0;
  for (const tensor of weights.values()) bytes += tensor.data.byteLength;
  if (bytes > maxEmbeddedBytes) {
    throw tunekitError(
      'MODEL_UNSUPPORTED',
      `The merged weights take ${(bytes / 1024 ** 3).toFixed(2)} GiB; exports above ${(maxEmbeddedBytes / 1024 ** 3).toFixed(2)} GiB (external data) are not supported yet`,
      { bytes, maxEmbeddedBytes },
    );
  }
  const graph = model.architecture.buildInferenceGraph({
    config,
    weights,
    kvCache: !classification,
    externalDataThreshold: Number.MAX_SAFE_INTEGER,
  });
  await mkdir(join(outputDirectory, 'onnx'), { recursive: true });
  const modelPath = join(outputDirectory, 'onnx', 'model.onnx');
  await writeFile(modelPath, graph.model);
  // Null keys mean "the library default" in Hugging Face configs; transformers.js reads a present null
  // as a value (e.g. `num_key_value_heads: null`), so they are left out.
  const exportedConfig = Object.fromEntries(
    Object.entries({ ...config, ...(classification ? {} : { use_cache: true }) }).filter(
      ([, value]) => value !== null,
    ),
  );
  await writeFile(join(outputDirectory, 'config.json'), `${JSON.stringify(exportedConfig, null, 2)}\n`);
  if (options.tokenizer) await options.tokenizer.save(outputDirectory);
  else {
    for (const file of TOKENIZER_FILES) {
      const exists = await stat(join(modelDirectory, file)).then(
        () => true,
        () => false,
      );
      if (exists) await copyFile(join(modelDirectory, file), join(outputDirectory, file));
    }
  }
  if (!classification) {
    await writeFile(
      join(outputDirectory, 'generation_config.json'),
      `${JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }, null, 2)}\n`,
    );
  }
  return {
    directory: outputDirectory,
    modelPath,
    inputNames: graph.inputNames,
    outputNames: graph.outputNames,
    task: classification ? 'text-classification' : 'text-generation',
  };
}
