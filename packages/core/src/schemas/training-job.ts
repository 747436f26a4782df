import { z } from 'zod';
import { JobSchema } from './job.js';
import { LoraConfigSchema } from './lora-config.js';

/** Job kind of fine-tuning jobs. */
export const TRAINING_JOB_KIND = 'train';

/**
 * Hyper-parameters of a training run. Names match the trainer's training options; unknown keys are
 * rejected (typos fail loudly), trainer-specific extras go to `trainerOptions`.
 */
export const HyperparametersSchema = z
  .object({
    /** Passes over the training data (ignored when `maxSteps` is set). */
    epochs: z.number().positive().default(1),
    /** Stop after this many optimizer steps. */
    maxSteps: z.number().int().positive().optional(),
    /** Sequences per micro-batch. */
    batchSize: z.number().int().positive().default(8),
    /** Micro-batches summed into one optimizer step. */
    gradientAccumulationSteps: z.number().int().positive().default(1),
    /** Peak learning rate. */
    learningRate: z.number().positive().max(1).default(1e-3),
    /** AdamW weight decay. */
    weightDecay: z.number().min(0).optional(),
    /** Linear warmup steps of the learning rate. */
    warmupSteps: z.number().int().min(0).optional(),
    /** Decay after warmup. */
    schedule: z.enum(['constant', 'linear', 'cosine']).optional(),
    /** Global gradient-norm clipping (0 disables). */
    maxGradientNorm: z.number().min(0).optional(),
    /** Longest sequence in tokens. */
    maxLength: z.number().int().min(2).optional(),
    /** Evaluate on the validation split every N optimizer steps (0: only at the end). */
    evalEvery: z.number().int().min(0).optional(),
    /** Seed of shuffling, dropout and sampling. */
    seed: z.number().int().default(42),
  })
  .strict();

/** Hyper-parameters after defaults. */
export type Hyperparameters = z.infer<typeof HyperparametersSchema>;

/** Name for outputs and registered models: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const ModelNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'must start with a letter or digit and use only letters, digits, ".", "_" and "-"',
  );

/** Input of a fine-tuning job (`kit.jobs.submit('train', input)`), validated at the boundary. */
export const TrainingJobInputSchema = z
  .object({
    /**
     * Base model: a local folder (`config.json` + `model.safetensors`), an `artifact://` URI in the
     * kit's store, or a `file://` URI.
     */
    baseModel: z
      .string()
      .min(1)
      .refine(
        (value) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^(artifact|file):\/\//.test(value),
        'must be a local path, or an artifact:// or file:// URI',
      ),
    /** Tokenizer folder or URI (default: the base model's). */
    tokenizer: z.string().min(1).optional(),
    /** Id of the dataset version to train on (its `train` split). */
    datasetVersionId: z.string().min(1),
    /** Dataset version for validation (default: the `validation` split of `datasetVersionId`). */
    validationDatasetVersionId: z.string().min(1).optional(),
    /** LoRA settings; absent means full fine-tuning. */
    lora: LoraConfigSchema.optional(),
    /** Optimizer and loop settings. */
    hyperparameters: HyperparametersSchema.default(HyperparametersSchema.parse({})),
    /** Execution device (`auto`: CUDA when it loads, else CPU with a warning). */
    device: z.enum(['cpu', 'cuda', 'auto']).default('cpu'),
    /** Name of the output (adapter or model folder in the artifact store). */
    outputName: ModelNameSchema,
    /** Register the result as a new model version under this registered-model name when training succeeds. */
    registerAs: z
      .object({
        name: ModelNameSchema,
        description: z.string().max(10_000).optional(),
        tags: z.array(z.string().min(1)).default([]),
        /** Task of the model card (e.g. `text-generation`). */
        task: z.string().min(1).optional(),
        /** Language code(s) of the model card. */
        language: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
        /** License of the model card. */
        license: z.string().min(1).optional(),
        /** Base model name for the card (default: the job's base model). */
        baseModel: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** Extra trainer options passed through unchanged (see the trainer's training options). */
    trainerOptions: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** Input of a fine-tuning job as callers write it (defaults optional). */
export type TrainingJobInputInput = z.input<typeof TrainingJobInputSchema>;

/** Input of a fine-tuning job after defaults. */
export type TrainingJobInput = z.infer<typeof TrainingJobInputSchema>;

/**
 * A fine-tuning job: a job record of kind `train` with a typed input. Status follows the job
 * lifecycle `queued → validating → running → succeeded | failed | cancelled`.
 */
export const TrainingJobSchema = JobSchema.extend({
  kind: z.literal(TRAINING_JOB_KIND),
  input: TrainingJobInputSchema,
});

/** A fine-tuning job record. */
export type TrainingJob = z.infer<typeof TrainingJobSchema>;
