import { TrainingJobInputSchema } from '@tunekit/core';
import { z } from 'zod';
import { LoraConfigSchema } from '../lora/lora-config.js';
import { QuantizationConfigSchema } from '../quantization/quantization-config.js';

/**
 * Rows inline, a JSON-lines artifact (`artifact://…` in the kit's store) with one row per line, or a
 * dataset version registered with `kit.datasets` (`{ versionId }`).
 */
export const DatasetSourceSchema = z.union([
  z.object({ rows: z.array(z.unknown()).min(1) }),
  z.object({ uri: z.string().min(1) }),
  z.object({ versionId: z.string().min(1) }),
]);
/** Where a job's rows come from. */
export type DatasetSource = z.infer<typeof DatasetSourceSchema>;

/** Input of a `train` job (`kit.jobs.submit('train', input)`). */
export const TrainJobInputSchema = z.object({
  /** Model folder (`config.json` + `model.safetensors`). */
  model: z.string().min(1),
  /** Tokenizer folder (default: the model folder, else byte-level). */
  tokenizer: z.string().optional(),
  /** LoRA settings (with them only adapters train). */
  lora: LoraConfigSchema.partial().optional(),
  /** PEFT adapter folder to continue from. */
  adapter: z.string().optional(),
  trainable: z.enum(['lora', 'full']).optional(),
  device: z.enum(['cpu', 'cuda', 'auto']).default('cpu'),
  threads: z.number().int().positive().optional(),
  dropout: z.boolean().optional(),
  /** Keep the frozen base 4-bit quantized (QLoRA-style; LoRA only). */
  quantization: QuantizationConfigSchema.optional(),
  dataset: DatasetSourceSchema,
  validation: DatasetSourceSchema.optional(),
  /** Training options (see `TrainingOptionsSchema`); checkpoints go to the kit's artifact store. */
  options: z.record(z.string(), z.unknown()).default({}),
  /** Save the adapter (LoRA) or merged model (full) under this artifact URI prefix at the end. */
  outputUri: z.string().optional(),
  /** Register the output with the registry when the job succeeds (read by `@tunekit/registry`). */
  registerAs: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Converts core's `TrainingJobInput` shape (`baseModel`, `datasetVersionId`, `hyperparameters`,
 * `outputName` …, the shape HTTP clients send) into the trainer's own job input. Inputs already in
 * the trainer's shape are returned unchanged.
 */
export function normalizeTrainJobInput(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || !('baseModel' in raw)) return raw;
  const parsed = TrainingJobInputSchema.safeParse(raw);
  if (!parsed.success) return raw;
  const input = parsed.data;
  // Model settings may ride in trainerOptions; the rest are training options.
  const { quantization, ...trainerOptions } = input.trainerOptions ?? {};
  return {
    model: input.baseModel,
    tokenizer: input.tokenizer,
    lora: input.lora,
    trainable: input.lora ? 'lora' : 'full',
    device: input.device,
    dataset: { versionId: input.datasetVersionId },
    validation: input.validationDatasetVersionId
      ? { versionId: input.validationDatasetVersionId }
      : undefined,
    ...(quantization === undefined ? {} : { quantization }),
    options: { ...trainerOptions, ...input.hyperparameters },
    outputUri: `artifact://models/${input.outputName}`,
    registerAs: input.registerAs,
  };
}

/** Input of a `train` job. */
export type TrainJobInput = z.input<typeof TrainJobInputSchema>;

/** Output of a `train` job (stored as the job's output). */
export interface TrainJobOutput {
  steps: number;
  finalLoss?: number;
  bestValidationLoss?: number;
  finalPerplexity?: number;
  tokensPerSecond: number;
  lastCheckpoint?: string;
  bestCheckpoint?: string;
  /** Where the adapter or model was saved, when `outputUri` was given. */
  output?: string;
  status: 'succeeded' | 'stopped-early';
}
