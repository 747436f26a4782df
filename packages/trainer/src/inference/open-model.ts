import { rm } from 'node:fs/promises';
import {
  parseOrThrow,
  QuantizationConfigSchema,
  type Tunekit,
  type TunekitError,
  tunekitError,
} from '@tunekit/core';
import { z } from 'zod';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { createDeviceSession } from '../backends/create-device-session.js';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import type { TrainerBackend } from '../backends/trainer-backend.js';
import { type ChatMessage, simpleChatPrompt } from '../data/training-row.js';
import type {
  GenerationChunk,
  GenerationOptionsInput,
  GenerationResult,
} from '../generate/generation-options.js';
import { TextGenerator } from '../generate/text-generator.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import {
  type ClassificationPrediction,
  type Classifier,
  createClassifier,
  type PredictOptions,
} from '../predict/create-classifier.js';
import { createJinjaChatFormatter } from '../tokenizers/jinja-chat-template.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { modelPositions, resolveModel, resolveTokenizer } from '../train/resolve-model.js';
import type { TrainerModel } from '../train/trainer.js';
import { resolveModelSource } from './resolve-model-source.js';

/** The serializable options of {@link openModel}, validated with zod (unknown keys are errors). */
export const OpenModelOptionsSchema = z
  .object({
    /** A PEFT adapter folder (or `artifact://` prefix) over the model. Default: the source's own. */
    adapter: z.string().min(1).optional(),
    /** A tokenizer folder. Default: the source's, else the model folder's, else byte-level. */
    tokenizer: z.string().min(1).optional(),
    /** Serve from a 4-bit quantized base (GPT-2, Llama, Qwen2; adapters stay a float32 branch). */
    quantization: QuantizationConfigSchema.optional(),
    /** `cpu`, `cuda` or `auto` (CUDA when it loads, else the CPU). Default `cpu`. */
    device: z.enum(['cpu', 'cuda', 'auto']).default('cpu'),
    /** onnxruntime intra-op threads. */
    threads: z.number().int().positive().optional(),
    /** Classifiers: longest input in tokens (default: the model's positions, at most 512). */
    maxLength: z.number().int().min(2).optional(),
  })
  .strict();

/** Options of {@link openModel}. */
export type OpenModelOptions = z.input<typeof OpenModelOptionsSchema> & {
  /** The kit: needed for `job:<id>`, registry references and `artifact://` sources. */
  kit?: Tunekit;
  /** Adapters in memory (instead of an adapter folder). */
  adapters?: LoraAdapters;
  /** Backends by name (default `cpu` and `cuda`). */
  backends?: Record<string, TrainerBackend>;
};

/** Perplexity of texts: `exp` of the mean negative log-likelihood per predicted token. */
export interface PerplexityResult {
  perplexity: number;
  /** Mean negative natural-log likelihood per predicted token. */
  negativeLogLikelihood: number;
  /** Tokens predicted (each text's tokens after its first context token). */
  tokens: number;
}

/** A model opened for inference (see {@link openModel}). */
export interface OpenedModel {
  /** `text-generation` (GPT-2, Llama, Qwen2) or `text-classification` (BERT family). */
  readonly task: 'text-generation' | 'text-classification';
  /** Device the session runs on. */
  readonly device: string;
  readonly tokenizer: Tokenizer;
  /** The model's positions (the longest sequence it scores). */
  readonly maxPositions: number;
  /** Label names by class id (classifiers; empty otherwise). */
  readonly labels: string[];
  /** Generates a completion of `prompt` (KV cache, temperature/top-p/top-k/stop). */
  generate(prompt: string, options?: GenerationOptionsInput): Promise<GenerationResult>;
  /** Streams a completion of `prompt` token by token. */
  stream(prompt: string, options?: GenerationOptionsInput): AsyncGenerator<GenerationChunk>;
  /**
   * Natural-log probability of each token of `tokenIds` after the first, given the tokens before it:
   * `result[i] = log p(tokenIds[i + 1] | tokenIds[0..i])` (length `tokenIds.length - 1`). Their
   * negated mean is the training graph's loss on the same ids.
   */
  logProbabilities(tokenIds: readonly number[]): Promise<number[]>;
  /**
   * Perplexity of texts: each text is encoded with the tokenizer's special tokens (a Llama `<s>`;
   * none for GPT-2, whose first token is context, as in Hugging Face's perplexity recipe) and scored
   * in windows of the model's positions.
   */
  perplexity(texts: readonly string[]): Promise<PerplexityResult>;
  /** Classifies one text (classifiers). */
  predict(text: string, options?: PredictOptions): Promise<ClassificationPrediction>;
  /** Classifies texts, batched (classifiers). */
  predict(texts: readonly string[], options?: PredictOptions): Promise<ClassificationPrediction[]>;
  /** The generation prompt for chat messages: the tokenizer's Jinja template, else `### Role:` turns. */
  chatPrompt(messages: ChatMessage[]): string;
  /** Releases the session and deletes downloaded files. */
  close(): Promise<void>;
}

function taskMismatch(method: string, task: OpenedModel['task']): TunekitError {
  return tunekitError(
    'MODEL_TASK_MISMATCH',
    task === 'text-classification'
      ? `${method} needs a generative model; this one is a sequence classifier: use predict`
      : `${method} needs a sequence classifier; this model generates text: use generate`,
    { method, task },
  );
}

/** `log softmax(row)[token]` in float64. */
function logProbabilityOf(logits: Float32Array, offset: number, vocab: number, token: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < vocab; index++) max = Math.max(max, logits[offset + index] as number);
  let sum = 0;
  for (let index = 0; index < vocab; index++) sum += Math.exp((logits[offset + index] as number) - max);
  return (logits[offset + token] as number) - max - Math.log(sum);
}

/**
 * Opens a model for inference: the one way to use a model that is not being trained. `source` is
 * a model folder, an `artifact://`/`file://` URI, `job:<id>` (a succeeded `train` job's output),
 * or a registry reference (`notes-lora`, `notes-lora@production`, `notes-lora@1`) with the kit's
 * registry plugin. Adapters stay a live LoRA branch; `quantization` serves a 4-bit base.
 *
 * @example
 * ```ts
 * const model = await openModel('notes-lora@1', { kit });
 * console.log((await model.generate('Call me', { maxTokens: 20, temperature: 0 })).text);
 * console.log(await model.perplexity(['call me ishmael.']));
 * await model.close();
 * ```
 * @throws `VALIDATION_FAILED` (options), `NOT_FOUND`/`JOB_NOT_FOUND` (unknown reference),
 *   `MODEL_INVALID` (not a model folder), `MODEL_TASK_MISMATCH` (generate on a classifier …).
 */
export async function openModel(
  source: string | TrainerModel,
  options: OpenModelOptions = {},
): Promise<OpenedModel> {
  const { kit, adapters: adaptersInMemory, backends, ...serializable } = options;
  const settings = parseOrThrow(OpenModelOptionsSchema, serializable, 'openModel options');
  const resolved =
    typeof source === 'string'
      ? await resolveModelSource(source, kit)
      : { model: source, temporary: [] as string[] };
  const cleanup = async () => {
    for (const folder of resolved.temporary) await rm(folder, { recursive: true, force: true });
  };
  try {
    const model = await resolveModel(resolved.model as TrainerModel | string);
    const adapterSource =
      settings.adapter === undefined
        ? 'adapter' in resolved
          ? resolved.adapter
          : undefined
        : await resolveModelSource(settings.adapter, kit).then((found) => {
            resolved.temporary.push(...found.temporary);
            return found.model;
          });
    const tokenizerSource = settings.tokenizer ?? ('tokenizer' in resolved ? resolved.tokenizer : undefined);
    const tokenizer = await resolveTokenizer(tokenizerSource, model);
    const maxPositions = modelPositions(model.config);
    const chatPrompt = (messages: ChatMessage[]) =>
      tokenizer.chatTemplate
        ? createJinjaChatFormatter(tokenizer.chatTemplate).prompt(messages)
        : simpleChatPrompt(messages);

    if (model.architecture.task === 'sequence-classification') {
      const classifier: Classifier = await createClassifier({
        model,
        adapter: adaptersInMemory ?? adapterSource,
        tokenizer,
        device: settings.device,
        threads: settings.threads,
        maxLength: settings.maxLength,
      });
      const mismatch = (method: string) => () => {
        throw taskMismatch(method, 'text-classification');
      };
      return {
        task: 'text-classification',
        device: classifier.device,
        tokenizer,
        maxPositions,
        labels: classifier.labels,
        generate: async () => mismatch('generate')(),
        stream: async function* () {
          yield* [];
          mismatch('stream')();
        },
        logProbabilities: async () => mismatch('logProbabilities')(),
        perplexity: async () => mismatch('perplexity')(),
        predict: ((input: string | readonly string[], predictOptions?: PredictOptions) =>
          classifier.predict(input as string, predictOptions)) as OpenedModel['predict'],
        chatPrompt,
        close: async () => {
          await classifier.close();
          await cleanup();
        },
      };
    }

    const lora: LoraAdapters | undefined =
      adaptersInMemory ?? (adapterSource === undefined ? undefined : await loadPeftAdapter(adapterSource));
    const ort = await loadOnnxRuntime();
    const graph = model.architecture.buildInferenceGraph({
      config: model.config,
      weights: model.weights,
      lora,
      kvCache: true,
      quantization: settings.quantization,
    });
    const opened = await createDeviceSession(graph.model, {
      device: settings.device,
      threads: settings.threads,
      backends,
    });
    const generator = new TextGenerator({ ort, session: opened.session, graph, tokenizer, maxPositions });
    const logProbabilities = async (tokenIds: readonly number[]): Promise<number[]> => {
      if (tokenIds.length > maxPositions) {
        throw tunekitError(
          'VALIDATION_FAILED',
          `logProbabilities takes at most the model's ${maxPositions} positions; got ${tokenIds.length} tokens (use perplexity for longer texts)`,
          { issues: [{ path: 'tokenIds', message: 'longer than the model positions' }] },
        );
      }
      if (tokenIds.length < 2) return [];
      const { logits, vocab } = await generator.logits(tokenIds);
      const result: number[] = [];
      for (let position = 0; position + 1 < tokenIds.length; position++) {
        result.push(logProbabilityOf(logits, position * vocab, vocab, tokenIds[position + 1] as number));
      }
      return result;
    };
    return {
      task: 'text-generation',
      device: opened.device,
      tokenizer,
      maxPositions,
      labels: [],
      generate: (prompt, generation) => generator.generate(prompt, generation),
      stream: (prompt, generation) => generator.stream(prompt, generation),
      logProbabilities,
      async perplexity(texts) {
        let total = 0;
        let tokens = 0;
        for (const text of texts) {
          const ids = tokenizer.encode(text, { addSpecialTokens: true });
          // Windows of the model's positions, each overlapping the previous by one context token.
          for (let begin = 0; begin + 1 < ids.length; begin += maxPositions - 1) {
            const scores = await logProbabilities(ids.slice(begin, begin + maxPositions));
            for (const score of scores) total -= score;
            tokens += scores.length;
          }
        }
        const negativeLogLikelihood = tokens === 0 ? Number.NaN : total / tokens;
        return { perplexity: Math.exp(negativeLogLikelihood), negativeLogLikelihood, tokens };
      },
      predict: (async () => {
        throw taskMismatch('predict', 'text-generation');
      }) as OpenedModel['predict'],
      chatPrompt,
      close: async () => {
        await opened.session.release();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
