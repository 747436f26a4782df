import { tunekitError } from '@tunekit/core';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { z } from 'zod';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { createDeviceSession } from '../backends/create-device-session.js';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import type { Device } from '../backends/trainer-backend.js';
import { encodeForClassification } from '../data/prepare-classification-sequences.js';
import { loadModel } from '../models/load-model.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { TrainerModel } from '../train/trainer.js';

/** Options of {@link createClassifier}. */
export interface CreateClassifierOptions {
  /** A sequence-classification model folder (`config.json` + `model.safetensors`) or a model in memory. */
  model: TrainerModel | string;
  /** A PEFT adapter folder (LoRA + `modules_to_save` head) or adapters in memory. */
  adapter?: string | LoraAdapters;
  /** A tokenizer or a folder with `tokenizer.json`. Default: the model folder's. */
  tokenizer?: Tokenizer | string;
  /** Where the session runs. Default `cpu`. */
  device?: Device;
  /** Intra-op threads. */
  threads?: number;
  /** Longest input in tokens (special tokens included). Default: the model's positions, at most 512. */
  maxLength?: number;
  /** Reported as `base_model` (default: the model folder, else the config's `_name_or_path` or `model_type`). */
  baseModel?: string;
  /** Reported as `language` (default: the config's `language`, if any). */
  language?: string;
}

/** Options of {@link Classifier.predict}. */
export const PredictOptionsSchema = z.object({
  /** Also return the `topK` most probable labels. Default 1 (only the best, no `top_k` list). */
  topK: z.number().int().positive().default(1),
  /** Texts per session run. Default 32. */
  batchSize: z.number().int().positive().default(32),
});
/** Options of {@link Classifier.predict} as callers pass them. */
export type PredictOptions = z.input<typeof PredictOptionsSchema>;

/** One prediction: `{ label, probability, latency_ms }` plus the label id, base model, language and the top-k scores. */
export interface ClassificationPrediction {
  /** Label name from the config's `id2label`. */
  label: string;
  /** Class id. */
  label_id: number;
  /** Softmax probability of `label`. */
  probability: number;
  /** Time of the batch this text was in, divided by its size (tokenization included). */
  latency_ms: number;
  base_model: string;
  language?: string;
  /** The `topK` best labels, most probable first (when `topK` > 1). */
  top_k?: Array<{ label: string; label_id: number; probability: number }>;
}

/** A loaded sequence classifier. */
export interface Classifier {
  /** Label names by class id. */
  readonly labels: string[];
  /** Device the session runs on. */
  readonly device: string;
  /** Classifies one text. */
  predict(text: string, options?: PredictOptions): Promise<ClassificationPrediction>;
  /** Classifies texts, batched; results in input order. */
  predict(texts: readonly string[], options?: PredictOptions): Promise<ClassificationPrediction[]>;
  /** Releases the session. */
  close(): Promise<void>;
}

/**
 * Loads a BERT-family sequence classifier (with an optional PEFT adapter kept as a live LoRA branch
 * and its trained head) into one onnxruntime session and classifies texts in padded batches.
 */
export async function createClassifier(options: CreateClassifierOptions): Promise<Classifier> {
  const model: TrainerModel =
    typeof options.model === 'string'
      ? { ...((await loadModel(options.model)) as TrainerModel), directory: options.model }
      : options.model;
  if (model.architecture.task !== 'sequence-classification') {
    throw tunekitError(
      'MODEL_TASK_MISMATCH',
      `createClassifier needs a sequence-classification model (bert, roberta, distilbert), got ${model.architecture.name}`,
      { architecture: model.architecture.name },
    );
  }
  const adapters =
    typeof options.adapter === 'string' ? await loadPeftAdapter(options.adapter) : options.adapter;
  let tokenizer: Tokenizer;
  if (options.tokenizer && typeof options.tokenizer !== 'string') tokenizer = options.tokenizer;
  else {
    const folder = options.tokenizer ?? model.directory;
    if (!folder) {
      throw tunekitError(
        'TOKENIZER_NOT_FOUND',
        'createClassifier needs a tokenizer (the model is in memory and has no folder)',
      );
    }
    const { loadTokenizer } = await import('../tokenizers/load-tokenizer.js');
    tokenizer = await loadTokenizer(folder);
  }
  const config = model.config as Record<string, unknown> & { id2label: Record<string, string> };
  const labels = Object.keys(config.id2label)
    .map(Number)
    .sort((a, b) => a - b)
    .map((id) => config.id2label[String(id)] as string);
  const positions = Number(config.max_position_embeddings ?? 512);
  const usable =
    config.model_type === 'roberta' ? positions - Number(config.pad_token_id ?? 1) - 1 : positions;
  const maxLength = Math.min(options.maxLength ?? 512, usable);
  const padId = tokenizer.specialTokens.pad ?? Number(config.pad_token_id ?? 0);
  const baseModel =
    options.baseModel ?? model.directory ?? String(config._name_or_path ?? config.model_type ?? 'unknown');
  const language = options.language ?? (typeof config.language === 'string' ? config.language : undefined);

  const ort = await loadOnnxRuntime();
  const graph = model.architecture.buildInferenceGraph({
    config: model.config,
    weights: model.weights,
    lora: adapters,
    kvCache: false,
  });
  const opened = await createDeviceSession(graph.model, {
    device: options.device ?? 'cpu',
    threads: options.threads,
  });
  const session: InferenceSession = opened.session;

  async function predictMany(texts: readonly string[], input: PredictOptions = {}) {
    const parsed = PredictOptionsSchema.safeParse(input);
    if (!parsed.success) {
      throw tunekitError(
        'VALIDATION_FAILED',
        `Invalid predict options: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
    }
    const { topK, batchSize } = parsed.data;
    const results: ClassificationPrediction[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const started = performance.now();
      const chunk = texts.slice(start, start + batchSize);
      const encoded = chunk.map((text) => encodeForClassification(tokenizer, text, maxLength).ids);
      const length = Math.max(...encoded.map((ids) => ids.length));
      const ids = new BigInt64Array(chunk.length * length).fill(BigInt(padId));
      const mask = new BigInt64Array(chunk.length * length);
      encoded.forEach((row, index) => {
        row.forEach((id, position) => {
          ids[index * length + position] = BigInt(id);
          mask[index * length + position] = 1n;
        });
      });
      const output = await session.run({
        input_ids: new ort.Tensor('int64', ids, [chunk.length, length]),
        attention_mask: new ort.Tensor('int64', mask, [chunk.length, length]),
      });
      const logits = (output.logits as Tensor).data as Float32Array;
      const latency = (performance.now() - started) / chunk.length;
      for (let row = 0; row < chunk.length; row += 1) {
        const scores = Array.from(logits.subarray(row * labels.length, (row + 1) * labels.length));
        const max = Math.max(...scores);
        const exps = scores.map((score) => Math.exp(score - max));
        const total = exps.reduce((sum, value) => sum + value, 0);
        const ranked = exps
          .map((value, id) => ({ label: labels[id] as string, label_id: id, probability: value / total }))
          .sort((a, b) => b.probability - a.probability);
        const best = ranked[0] as (typeof ranked)[number];
        results.push({
          label: best.label,
          label_id: best.label_id,
          probability: best.probability,
          latency_ms: latency,
          base_model: baseModel,
          ...(language === undefined ? {} : { language }),
          ...(topK > 1 ? { top_k: ranked.slice(0, topK) } : {}),
        });
      }
    }
    return results;
  }

  return {
    labels,
    device: opened.device,
    // biome-ignore lint/suspicious/noExplicitAny: overloads share one implementation
    predict: (async (input: string | readonly string[], predictOptions?: PredictOptions): Promise<any> => {
      if (typeof input === 'string') return (await predictMany([input], predictOptions))[0];
      return predictMany(input, predictOptions);
    }) as Classifier['predict'],
    close: () => session.release(),
  };
}
