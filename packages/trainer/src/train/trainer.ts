import type { SaveModelOptions } from '../adapters/save-model-options.js';
import type {
  GenerationChunk,
  GenerationOptionsInput,
  GenerationResult,
} from '../generate/generation-options.js';
import type { LoadedModel } from '../models/load-model.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { TrainingOptionsInput } from './training-options.js';
import type { EvaluationResult, TrainingResult } from './training-run.js';

/** A model in memory (as `loadModel` returns it), with the folder it came from when it did. */
export type TrainerModel = LoadedModel<unknown> & {
  /** The folder it came from, when it came from one. */
  directory?: string;
};

/** Rows of a dataset: an array or an async iterable of `{ text }`, `{ prompt, completion }` or `{ messages }`. */
export type DatasetRows = readonly unknown[] | AsyncIterable<unknown>;

/** Per-run controls of {@link Trainer.train} besides the validated options. */
export interface TrainingControls {
  /** Validation rows (loss and perplexity every `evalEvery` steps and at the end). */
  validation?: DatasetRows;
  /** Cancels at the next step, leaving a checkpoint when checkpointing is on. */
  signal?: AbortSignal;
  /** Progress in [0, 1] with the step's metrics. */
  onProgress?: (progress: number, metrics: Record<string, number>) => void;
}

/** A model ready to train, evaluate and generate; sessions are built once and reused. */
export interface Trainer {
  /** Device the sessions run on (after `auto` resolution: known after the first session). */
  readonly device: string;
  readonly tokenizer: Tokenizer;
  readonly model: TrainerModel;
  /** Current LoRA adapters (PEFT names), when training adapters. */
  readonly adapters: LoraAdapters | undefined;
  /** Trains on the rows; see {@link TrainingOptionsSchema} for the options. */
  train(dataset: DatasetRows, options?: TrainingOptionsInput & TrainingControls): Promise<TrainingResult>;
  /** Validation loss and perplexity on rows. */
  evaluate(
    rows: DatasetRows,
    options?: { batchSize?: number; maxLength?: number },
  ): Promise<EvaluationResult>;
  /** Generates a completion with the current weights (and adapters). */
  generate(prompt: string, options?: GenerationOptionsInput): Promise<GenerationResult>;
  /** Streams a completion token by token. */
  stream(prompt: string, options?: GenerationOptionsInput): AsyncGenerator<GenerationChunk>;
  /**
   * Saves the LoRA adapters in PEFT's format (`adapter_config.json` + `adapter_model.safetensors`),
   * float32 as PEFT saves them unless `dtype` asks for F16/BF16.
   */
  saveAdapter(directory: string, options?: { dtype?: 'auto' | 'F32' | 'F16' | 'BF16' }): Promise<string>;
  /**
   * Merges the adapters into the base (if any) and writes a full Hugging Face model folder in the
   * checkpoint's layout and dtypes, sharded past `maxShardSize` (default 5GB); see `SaveModelOptions`.
   */
  saveMerged(directory: string, options?: SaveModelOptions): Promise<string>;
  /** Releases the onnxruntime sessions. */
  close(): Promise<void>;
}
