import { z } from 'zod';
import { AdamWOptionsSchema } from '../optim/adamw.js';
import { LearningRateScheduleSchema } from '../optim/learning-rate-schedule.js';
import { LossScalingOptionsSchema } from './dynamic-loss-scaler.js';

/** Where checkpoints go: a local directory, or an artifact store under a URI prefix. */
export const CheckpointOptionsSchema = z.object({
  /** Save every N optimizer steps (0: only at the end). */
  every: z.number().int().min(0).default(0),
  /** A local directory (one sub-folder per checkpoint). */
  directory: z.string().optional(),
  /** An `artifact://` URI prefix in the kit's artifact store (used when `store` is given to the trainer). */
  prefix: z.string().optional(),
  /** Save at the end of training. Default true. */
  atEnd: z.boolean().default(true),
});

/** Options of one training run (`trainer.train(dataset, options)`), validated with zod. */
export const TrainingOptionsSchema = z
  .object({
    /** Passes over the training data (ignored when `maxSteps` is set). */
    epochs: z.number().positive().default(1),
    /** Stop after this many optimizer steps. */
    maxSteps: z.number().int().positive().optional(),
    /** Sequences per micro-batch (one session run). */
    batchSize: z.number().int().positive().default(8),
    /** Micro-batches summed into one optimizer step. */
    gradientAccumulationSteps: z.number().int().positive().default(1),
    /** Peak learning rate. */
    learningRate: z.number().positive().default(1e-3),
    /** AdamW hyper-parameters besides the learning rate. */
    adamW: AdamWOptionsSchema.omit({ learningRate: true }).partial().default({}),
    /** Warmup and decay of the learning rate. */
    schedule: LearningRateScheduleSchema.default({ kind: 'linear', warmupSteps: 0, minimumRatio: 0 }),
    /** Global gradient-norm clipping (0 disables). */
    maxGradientNorm: z.number().min(0).default(1),
    /** Longest sequence (defaults to the model's positions, capped at 1024). */
    maxLength: z.number().int().min(2).optional(),
    /** Pack examples into full windows (default true for `{ text }` datasets, false otherwise). */
    packing: z.boolean().optional(),
    /** Over-long examples: cut (counted in a warning) or dropped (listed). */
    overflow: z.enum(['truncate', 'reject']).default('truncate'),
    /** Shuffle the training sequences each epoch (seeded). */
    shuffle: z.boolean().default(true),
    /** Seed of shuffling and sampling. */
    seed: z.number().int().default(42),
    /** Evaluate on the validation rows every N optimizer steps (0: only at the end). */
    evalEvery: z.number().int().min(0).default(0),
    /** Cap on validation batches per evaluation (all by default). */
    evalBatches: z.number().int().positive().optional(),
    /** Stop when validation loss has not improved by `minDelta` for `patience` evaluations. */
    earlyStopping: z
      .object({ patience: z.number().int().positive(), minDelta: z.number().min(0).default(0) })
      .optional(),
    /** A NaN or infinite loss or gradient: stop with an error (default) or skip that step. */
    onNonFinite: z.enum(['error', 'skip']).default('error'),
    /** Checkpointing. */
    checkpoint: CheckpointOptionsSchema.optional(),
    /** Continue from the latest checkpoint in `checkpoint` (true) or from a given checkpoint location. */
    resume: z.union([z.boolean(), z.string()]).default(false),
    /** Emit `training:step` every N steps (1 = every step). */
    logEvery: z.number().int().positive().default(1),
    /** Run name reported to trackers. */
    runName: z.string().optional(),
    /**
     * Direct preference optimization on `{ prompt, chosen, rejected }` rows instead of supervised
     * fine-tuning (causal language models). `beta` weighs the implicit reward (TRL's default 0.1);
     * the reference model is the base model (LoRA) or the model the run starts from (full).
     */
    dpo: z
      .object({ beta: z.number().positive().default(0.1) })
      .strict()
      .optional(),
    /**
     * Dynamic loss scaling of `float16` graphs (`createTrainer({ precision: 'float16' })`; ignored
     * otherwise): GradScaler's defaults (start 2^16, ×2 every 2,000 finite steps, ×0.5 and the step
     * skipped when a gradient is inf or NaN). See `DynamicLossScaler`.
     */
    lossScaling: LossScalingOptionsSchema.optional(),
  })
  .strict();

/** Training options as callers pass them. */
export type TrainingOptionsInput = z.input<typeof TrainingOptionsSchema>;
/** Training options after defaults. */
export type TrainingOptions = z.output<typeof TrainingOptionsSchema>;
/** Checkpoint options after defaults. */
export type CheckpointOptions = z.output<typeof CheckpointOptionsSchema>;
