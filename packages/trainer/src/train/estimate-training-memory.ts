import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Bytes per trainable parameter while training: the fp32 weight (4), its gradient (4) and Adam's
 * two moments (4 + 4).
 */
export const BYTES_PER_TRAINABLE_PARAMETER = 16;

/**
 * Bytes of activations kept per (sequence position × hidden unit × layer) of one batch row: about
 * 16 fp32 values (the attention projections, scores' share, the 4×-wide MLP, norms and residuals,
 * and their gradients). A rough constant: real use varies with the architecture and gradient
 * checkpointing; the watchdog measures the truth while the job runs.
 */
export const ACTIVATION_BYTES_PER_UNIT = 64;

/** LoRA-adapted modules per layer assumed when `targetModules` does not list them. */
export const DEFAULT_LORA_MODULES_PER_LAYER = 4;

/** What {@link estimateTrainingMemory} needs to know about a job. */
export const TrainingMemoryInputSchema = z
  .object({
    /** Bytes of the base model's weights (its `*.safetensors` files). */
    modelBytes: z.number().int().min(0),
    /** Hidden width (`hidden_size`, `n_embd`, `d_model`). */
    hiddenSize: z.number().int().min(1),
    /** Transformer layers (`num_hidden_layers`, `n_layer`). */
    layers: z.number().int().min(1),
    batchSize: z.number().int().min(1),
    /** Tokens per row. */
    sequenceLength: z.number().int().min(1),
    /** LoRA rank and adapted modules per layer; absent means full fine-tuning (every weight trains). */
    lora: z
      .object({ r: z.number().int().min(1), modulesPerLayer: z.number().int().min(1) })
      .strict()
      .optional(),
  })
  .strict();

/** Input of {@link estimateTrainingMemory}. */
export type TrainingMemoryInput = z.infer<typeof TrainingMemoryInputSchema>;

/** The parts of a training job's memory estimate, in bytes. */
export interface TrainingMemoryEstimate {
  modelBytes: number;
  trainableParameters: number;
  /** `trainableParameters × BYTES_PER_TRAINABLE_PARAMETER`. */
  trainingStateBytes: number;
  /** `batch × length × hidden × layers × ACTIVATION_BYTES_PER_UNIT`. */
  activationBytes: number;
  totalBytes: number;
}

/**
 * Estimates the memory of a training job: the base model's weights, plus 16 bytes per trainable
 * parameter (weight, gradient, two Adam moments), plus activations ≈ batch × length × hidden ×
 * layers × {@link ACTIVATION_BYTES_PER_UNIT}. LoRA trains `r × 2 × hidden` parameters per adapted
 * module (square projections assumed); full fine-tuning trains every weight (fp32: model bytes / 4).
 */
export function estimateTrainingMemory(input: TrainingMemoryInput): TrainingMemoryEstimate {
  const { modelBytes, hiddenSize, layers, batchSize, sequenceLength, lora } =
    TrainingMemoryInputSchema.parse(input);
  const trainableParameters = lora
    ? lora.r * 2 * hiddenSize * lora.modulesPerLayer * layers
    : Math.ceil(modelBytes / 4);
  const trainingStateBytes = trainableParameters * BYTES_PER_TRAINABLE_PARAMETER;
  const activationBytes = batchSize * sequenceLength * hiddenSize * layers * ACTIVATION_BYTES_PER_UNIT;
  return {
    modelBytes,
    trainableParameters,
    trainingStateBytes,
    activationBytes,
    totalBytes: modelBytes + trainingStateBytes + activationBytes,
  };
}

const ModelConfigShapeSchema = z.object({
  hidden_size: z.number().int().positive().optional(),
  n_embd: z.number().int().positive().optional(),
  d_model: z.number().int().positive().optional(),
  num_hidden_layers: z.number().int().positive().optional(),
  n_layer: z.number().int().positive().optional(),
  max_position_embeddings: z.number().int().positive().optional(),
  n_positions: z.number().int().positive().optional(),
});

/** What {@link readModelMemoryShape} reads from a model folder. */
export interface ModelMemoryShape {
  modelBytes: number;
  hiddenSize: number;
  layers: number;
  /** Longest sequence the model takes (`max_position_embeddings`, `n_positions`), when it says. */
  maxPositions?: number;
}

/**
 * Reads a local model folder's `config.json` (width, layers) and the sizes of its `*.safetensors`
 * files, for {@link estimateTrainingMemory}. Undefined when the folder or its config cannot be read
 * or does not name a width and a layer count.
 */
export async function readModelMemoryShape(folder: string): Promise<ModelMemoryShape | undefined> {
  try {
    const config = ModelConfigShapeSchema.safeParse(
      JSON.parse(await readFile(join(folder, 'config.json'), 'utf8')),
    );
    if (!config.success) return undefined;
    const hiddenSize = config.data.hidden_size ?? config.data.n_embd ?? config.data.d_model;
    const layers = config.data.num_hidden_layers ?? config.data.n_layer;
    if (hiddenSize === undefined || layers === undefined) return undefined;
    let modelBytes = 0;
    for (const name of await readdir(folder)) {
      if (name.endsWith('.safetensors')) modelBytes += (await stat(join(folder, name))).size;
    }
    const maxPositions = config.data.max_position_embeddings ?? config.data.n_positions;
    return { modelBytes, hiddenSize, layers, ...(maxPositions ? { maxPositions } : {}) };
  } catch {
    return undefined;
  }
}
