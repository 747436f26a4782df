import type {
  LoraConfigInput,
  QuantizationOptions,
  TrainingPrecision,
  TunekitEventMap,
  TunekitEventName,
} from '@tunekit/core';
import type { Device } from '../backends/trainer-backend.js';
import type { TrainingOptionsInput } from './training-options.js';
import type { TrainingResult } from './training-run.js';

/** What the main thread sends to start a run in a worker (structured-clone safe: no functions). */
export interface WorkerTrainingRequest {
  /** Model folder (`config.json` + `model.safetensors`). */
  model: string;
  /** Tokenizer folder (default: the model folder, else byte-level). */
  tokenizer?: string;
  lora?: LoraConfigInput;
  /** PEFT adapter folder to continue training from. */
  adapter?: string;
  trainable?: 'lora' | 'full';
  device?: Device;
  threads?: number;
  dropout?: boolean;
  /** Recompute layer activations in the backward pass (see `CreateTrainerOptions.gradientCheckpointing`). */
  gradientCheckpointing?: boolean;
  /** Compute precision of the training graph (see `CreateTrainerOptions.precision`). */
  precision?: TrainingPrecision;
  /** A 4-bit frozen base (see `CreateTrainerOptions.quantization`). */
  quantization?: QuantizationOptions;
  jobId?: string;
  rows: unknown[];
  validation?: unknown[];
  /** Training options (checkpoints must use `directory`: an artifact store cannot cross threads). */
  options: TrainingOptionsInput;
  /** After training, save the adapter (LoRA) or the model (full) into this folder. */
  saveTo?: string;
}

/** Messages from the main thread to the worker. */
export type MainToWorkerMessage = { type: 'start'; request: WorkerTrainingRequest } | { type: 'cancel' };

/** A serialized error (TunekitError fields survive the thread boundary). */
export interface WorkerError {
  code: string;
  message: string;
  status: number;
  details: Record<string, unknown>;
}

/** Messages from the worker to the main thread. */
export type WorkerToMainMessage =
  | { type: 'event'; name: TunekitEventName; payload: TunekitEventMap[TunekitEventName] }
  | { type: 'progress'; progress: number; metrics: Record<string, number> }
  | { type: 'result'; result: TrainingResult; savedTo?: string }
  | { type: 'error'; error: WorkerError };
