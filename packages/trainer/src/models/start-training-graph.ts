import { tunekitError } from '@tunekit/core';
import { type Dimension, Graph, type Value } from '../onnx/graph.js';
import type { DropoutMaskCollector } from './create-dropout.js';
import type { BuildTrainingGraphOptions, TrainableParameter } from './model-architecture.js';

/** Options of {@link startTrainingGraph}. */
export interface StartTrainingGraphOptions {
  /** The graph's name (`gpt2-training`, `bert-classification-training` …). */
  name: string;
  /** `per-token`: labels int64 `[batch, sequence]` (language models); `per-sequence`: `[batch]` (classifiers). */
  labels: 'per-token' | 'per-sequence';
  /** Whether the model's builder applies `quantization` (default false: `MODEL_UNSUPPORTED` when set). */
  quantizable?: boolean;
}

/** The new training graph with its inputs, as {@link startTrainingGraph} returns it. */
export interface StartedTrainingGraph {
  graph: Graph;
  /** The batch dimension: the fixed `batchSize` or the symbolic `batch`. */
  batch: Dimension;
  /** The sequence dimension: the fixed `sequenceLength` or the symbolic `sequence`. */
  sequence: Dimension;
  /** Input `input_ids`, int64 `[batch, sequence]`. */
  inputIds: Value;
  /** Input `attention_mask`, int64 `[batch, sequence]`. */
  attentionMask: Value;
  /** Input `labels`, int64 (shape per {@link StartTrainingGraphOptions.labels}). */
  labels: Value;
  /** Empty list the weight declarations fill with the trainable parameters. */
  parameters: TrainableParameter[];
  /** Where the forward pass records its dropout masks; undefined unless `dropout` is on. */
  dropout: DropoutMaskCollector | undefined;
}

/**
 * Checks that `trainable: 'lora'` comes with LoRA settings and that `quantization` comes with
 * `trainable: 'lora'` (`VALIDATION_FAILED` otherwise) on a model that supports it
 * (`MODEL_UNSUPPORTED`), then creates a training graph and declares its inputs `input_ids`,
 * `attention_mask` and `labels`. A half `precision` becomes the graph's `matrixPrecision`.
 */
export function startTrainingGraph(
  options: BuildTrainingGraphOptions<unknown>,
  settings: StartTrainingGraphOptions,
): StartedTrainingGraph {
  if (options.trainable === 'lora' && !options.lora) {
    throw tunekitError('VALIDATION_FAILED', 'trainable "lora" needs LoRA settings', {});
  }
  if (options.quantization && options.trainable !== 'lora') {
    throw tunekitError(
      'VALIDATION_FAILED',
      'quantization (a 4-bit frozen base) needs trainable "lora": quantized weights cannot be trained',
      { trainable: options.trainable },
    );
  }
  if (options.quantization && !settings.quantizable) {
    throw tunekitError(
      'MODEL_UNSUPPORTED',
      `quantization is not supported for ${settings.name} graphs (GPT-2, Llama and Qwen2 only)`,
      { graph: settings.name },
    );
  }
  const precision = options.precision ?? 'float32';
  const graph = new Graph({
    name: settings.name,
    matrixPrecision: precision === 'float32' ? undefined : precision,
  });
  const batch = options.batchSize ?? 'batch';
  const sequence = options.sequenceLength ?? 'sequence';
  const inputIds = graph.input('input_ids', 'int64', [batch, sequence]);
  const attentionMask = graph.input('attention_mask', 'int64', [batch, sequence]);
  const labels = graph.input(
    'labels',
    'int64',
    settings.labels === 'per-token' ? [batch, sequence] : [batch],
  );
  const dropout = options.dropout ? { masks: [], dimensions: { batch, sequence } } : undefined;
  return { graph, batch, sequence, inputIds, attentionMask, labels, parameters: [], dropout };
}
