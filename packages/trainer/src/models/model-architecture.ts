import type { QuantizationOptions, TrainingPrecision } from '@tunekit/core';
import type { z } from 'zod';
import type { ResolvedLoraConfig } from '../lora/lora-config.js';
import type { LoraTargetModule } from '../lora/lora-weights.js';
import type { SerializedModel } from '../onnx/serialize-model.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import type { CheckpointTensorRole } from './checkpoint-layout.js';
import type { DropoutMaskCollector } from './create-dropout.js';
import type { LoadReport } from './load-report.js';

/**
 * LoRA adapters for a graph: the settings and, optionally, the adapter tensors under PEFT's names
 * (`base_model.model.<module>.lora_A.weight` shaped `[r, in]`, `…lora_B.weight` shaped `[out, r]`).
 * Without `weights` the adapters start from PEFT's initialisation (A Kaiming-uniform, B zeros)
 * drawn from `seed`.
 */
export interface LoraAdapters {
  config: ResolvedLoraConfig;
  weights?: TensorMap;
  /** Seed for the initialisation of missing adapter tensors (default 0). */
  seed?: number;
  /**
   * With `weights`: refuse (`ADAPTER_KEYS_MISMATCH`) LoRA tensors that name no targeted module of the
   * model and targeted modules without tensors (default true). False lets them through: unused
   * tensors are dropped, modules without tensors start from PEFT's initialisation.
   */
  strict?: boolean;
  /** What loading matched (set by `loadPeftAdapter`). */
  report?: LoadReport;
  /**
   * The adapters as a base-weight initialisation (`initLoraWeights` `pissa*`/`olora`) created them
   * (set by `createTrainer`): saving writes `[A; A₀]`, `[B, −B₀]` at rank 2r, a plain LoRA adapter
   * for the original base, as PEFT's `path_initial_model_for_weight_conversion` does.
   */
  initialWeights?: TensorMap;
}

/** Options of {@link ModelArchitecture.buildTrainingGraph}. */
export interface BuildTrainingGraphOptions<Config> {
  config: Config;
  /** Base weights under Hugging Face names (as read by `loadModel`). */
  weights: TensorMap;
  /** Adapters; required when `trainable` is `lora`. */
  lora?: LoraAdapters;
  /** `lora`: only adapter tensors are trained; `full`: every base weight (embeddings included). */
  trainable: 'lora' | 'full';
  /** Fixed batch size; omitted: a symbolic `batch` dimension. */
  batchSize?: number;
  /** Fixed sequence length; omitted: a symbolic `sequence` dimension. */
  sequenceLength?: number;
  /**
   * Apply the model's (and LoRA's) dropout in training mode, with masks fed as inputs
   * (`TrainingGraph.dropout` lists them).
   */
  dropout: boolean;
  /** Also build gradient outputs (default true); false gives a loss-only evaluation graph. */
  gradients?: boolean;
  /** Also output `logits` (default false: fetching them costs a copy of batch·seq·vocab floats). */
  outputLogits?: boolean;
  /**
   * Causal language models: tokens per chunk of the fused LM head + cross-entropy, which never
   * holds whole `[tokens, vocab]` logits (default: about 64 MiB of logits per chunk, see
   * `defaultChunkTokens`).
   */
  headChunkTokens?: number;
  /**
   * Gradient checkpointing (default false): the backward pass recomputes each transformer layer's
   * activations from the layer's input instead of keeping them from the forward pass (GPT-2, Llama,
   * Qwen2, Mistral: their layers are `Graph.recomputeSegment`s). Same gradients; peak memory drops
   * by the activations of all layers but one, for about one more forward pass of compute. See
   * docs/performance.md for measured figures.
   */
  gradientCheckpointing?: boolean;
  /**
   * Compute precision (default `float32`). `float16`/`bfloat16`: every matrix product (linear
   * layers, LoRA, attention, the chunked LM head, and their gradients) runs in half precision on
   * operands cast inside the graph (`GraphOptions.matrixPrecision`); trainable tensors stay float32
   * inputs (the master weights) with float32 gradient outputs, frozen matrices are stored in half
   * precision, and norms, softmax, the loss and residual sums stay float32. `float16` graphs with
   * gradients take a float32 scalar input `loss_scale` ({@link TrainingGraph.lossScale}): the
   * backward pass starts from `loss_scale · d(loss)` and the gradient outputs are divided by it
   * again in float32, so only the half-precision intermediates see scaled values.
   */
  precision?: TrainingPrecision;
  /**
   * Train on preference pairs with DPO instead of cross-entropy (causal language models only): the
   * graph takes B chosen rows then their B rejected rows and an input `reference_logps` (see
   * {@link TrainingGraph.preference}).
   */
  preference?: { beta: number };
  /**
   * Initializer bytes above which frozen weights go to `externalData` instead of `model` (default
   * 1.5 GiB; onnxruntime refuses embedded models over 2 GB), or, when they are lazily loaded
   * checkpoint tensors, stay in the checkpoint files (`externalFolder`). Open the session with
   * `createGraphSession` (or save with `saveSerializedModel` and open from the path).
   */
  externalDataThreshold?: number;
  /**
   * QLoRA-style frozen base: the linear layers' weights (not the embeddings, norms, biases or LM
   * head) are stored as 4-bit codes in blocks of `blockSize` along the input axis and multiplied
   * with onnxruntime's `com.microsoft:MatMulNBits` (see `quantizeInt4Blocks`). Only with
   * `trainable: 'lora'` (`VALIDATION_FAILED` otherwise) and for causal language models (GPT-2,
   * Llama, Qwen2; `MODEL_UNSUPPORTED` otherwise).
   */
  quantization?: QuantizationOptions;
}

/** One tensor the optimizer owns: fed as a graph input every step, its gradient fetched as an output. */
export interface TrainableParameter {
  /** Hugging Face (full fine-tuning) or PEFT (LoRA) tensor name, as saved in safetensors. */
  name: string;
  /** Name of the graph input to feed the current value to. */
  inputName: string;
  /** Name of the graph output carrying d(loss)/d(parameter). */
  gradientName: string;
  shape: number[];
  /** Starting value (a copy the caller owns). */
  initial: Float32Array;
}

/**
 * A forward+loss+backward graph. Inputs: `input_ids`, `attention_mask`, `labels` (int64 `[batch,
 * sequence]`, labels `-100` are ignored; the loss shifts labels by one itself) and one input per
 * trainable parameter. Outputs: `loss` (mean over counted tokens, float32 scalar), the gradients and,
 * when asked, `logits`. Frozen weights are initializers inside `model`.
 */
export interface TrainingGraph {
  /** Serialized ONNX ModelProto. */
  model: Uint8Array;
  /** Frozen weights stored outside `model` (only for very large models), see `saveSerializedModel`. */
  externalData?: SerializedModel['externalData'];
  /**
   * The checkpoint folder whose files `model` references for lazily loaded frozen weights (large
   * models loaded with `loadModel`'s default `lazy`): open with `createGraphSession`.
   */
  externalFolder?: string;
  inputNames: { inputIds: 'input_ids'; attentionMask: 'attention_mask'; labels: 'labels' };
  parameters: TrainableParameter[];
  lossName: 'loss';
  /** `logits` when `outputLogits` was set. */
  logitsName?: 'logits';
  /** The dropout mask inputs to feed on every run, when built with `dropout`. */
  dropout?: DropoutMaskCollector;
  /**
   * Set for a DPO graph: feed `reference_logps` (float32 `[batch]`, each row's summed completion
   * log probability under the reference model); `sequence_logps` outputs the same quantity under
   * the fed parameters (how the trainer computes the reference values before training).
   */
  preference?: { beta: number; referenceInput: 'reference_logps'; sequenceOutput: 'sequence_logps' };
  /** The compute precision it was built with (see {@link BuildTrainingGraphOptions.precision}); absent: float32. */
  precision?: TrainingPrecision;
  /**
   * Set for a `float16` graph with gradients: feed the current loss scale (float32 scalar) to
   * `input` on every run (see `DynamicLossScaler`); the gradient outputs are already unscaled.
   */
  lossScale?: { input: 'loss_scale' };
}

/** Options of {@link ModelArchitecture.buildInferenceGraph}. */
export interface BuildInferenceGraphOptions<Config> {
  config: Config;
  weights: TensorMap;
  /** Live adapters (kept as a separate branch); merge them with `mergeLora` for a plain model. */
  lora?: LoraAdapters;
  /** With a KV cache (inputs `past_key_values.{i}.key/value`, outputs `present.{i}.key/value`). */
  kvCache: boolean;
  /** As in {@link BuildTrainingGraphOptions.externalDataThreshold}. */
  externalDataThreshold?: number;
  /**
   * Serve from a 4-bit frozen base: the linear layers are stored and multiplied exactly as in a
   * training graph with the same settings ({@link BuildTrainingGraphOptions.quantization}: int4
   * blocks, `com.microsoft:MatMulNBits`; `backward` is ignored). Live adapters stay a separate
   * float32 LoRA branch (merging them would mean quantizing again). Causal language models only
   * (GPT-2, Llama, Qwen2; `MODEL_UNSUPPORTED` otherwise).
   */
  quantization?: QuantizationOptions;
  /**
   * BERT-family encoders: also output `last_hidden_state` `[batch, sequence, hidden]` and, for BERT,
   * `pooler_output` `[batch, hidden]`, as transformers' `BertModel` returns them (to compare a
   * pretraining checkpoint, which has no trained classifier, with a reference). Ignored by causal
   * language models.
   */
  encoderOutputs?: boolean;
}

/**
 * A forward graph with transformers.js' names: inputs `input_ids`, `attention_mask` (covering past +
 * new tokens), `position_ids` and, with a cache, `past_key_values.{i}.key|value` shaped `[batch, heads,
 * past, headSize]` (past may be 0); outputs `logits` `[batch, sequence, vocab]` and `present.{i}.key|value`.
 */
export interface InferenceGraph {
  model: Uint8Array;
  /** Weights stored outside `model` (only for very large models), see `saveSerializedModel`. */
  externalData?: SerializedModel['externalData'];
  /** As in {@link TrainingGraph.externalFolder}. */
  externalFolder?: string;
  inputNames: string[];
  outputNames: string[];
  layers: number;
  heads: number;
  headSize: number;
}

/** A model family (GPT-2, later Llama and BERT): config parsing, random init and graph builders. */
export interface ModelArchitecture<Config = unknown> {
  /** Name as in `config.json`'s `model_type` (`gpt2`). */
  name: string;
  /**
   * What the head does (default `causal-language-modeling`). `sequence-classification` graphs take
   * `labels` as int64 `[batch]` class ids and output `logits` `[batch, labels]`; their inference graph
   * has no KV cache.
   */
  task?: 'causal-language-modeling' | 'sequence-classification';
  /** Schema of the Hugging Face `config.json` (unknown keys kept). */
  configSchema: z.ZodType<Config>;
  /** Random weights under Hugging Face names, deterministic for a seed. */
  createRandomWeights(config: Config, seed: number): TensorMap;
  /** The linear layers LoRA can adapt (module paths as PEFT names them, with their sizes). */
  loraTargetModules?(config: Config): LoraTargetModule[];
  /** Every weight the builders need (their names), with its shape; `loadModel` checks a checkpoint against it. */
  weightShapes?(config: Config): ReadonlyMap<string, number[]>;
  /**
   * What a checkpoint tensor is (a weight under which name, a tied copy, a buffer, an unused head or
   * unknown), so that `loadModel` reads published layouts and saving writes them back. Default: every
   * name is a weight under its own name.
   */
  checkpointTensorRole?(config: Config, name: string): CheckpointTensorRole;
  /**
   * Initial values for weights a checkpoint may lack (a new task head, as transformers initialises
   * it; reported in `missingKeys`); throws `MODEL_INVALID` for weights that must be present.
   */
  initializeMissingWeights?(config: Config, names: readonly string[], seed: number): TensorMap;
  buildTrainingGraph(options: BuildTrainingGraphOptions<Config>): TrainingGraph;
  buildInferenceGraph(options: BuildInferenceGraphOptions<Config>): InferenceGraph;
}
