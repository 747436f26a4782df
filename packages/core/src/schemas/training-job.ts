import { z } from 'zod';
import { JobSchema } from './job.js';
import { LoraConfigSchema } from './lora-config.js';
import { ModelNameSchema } from './model-name.js';
import { ModelTagSchema } from './model-version.js';
import { QuantizationConfigSchema } from './quantization-config.js';
import { TrainingPrecisionSchema } from './training-precision.js';

/**
 * Job kind of fine-tuning jobs: `kit.jobs.submit(TRAINING_JOB_KIND, input)`. The trainer registers
 * its handler under it, the registry registers its output, the server submits it.
 */
export const TRAINING_JOB_KIND = 'train';

/**
 * Hyper-parameters of a training run. Names match the trainer's training options; unknown keys are
 * rejected at `submit` (a typo such as `max_steps` fails loudly and names itself).
 */
export const HyperparametersSchema = z
  .object({
    /** Passes over the training data (ignored when `maxSteps` is set). */
    epochs: z.number().positive().max(1000).default(1),
    /** Stop after this many optimizer steps. */
    maxSteps: z.number().int().positive().max(10_000_000).optional(),
    /** Sequences per micro-batch. */
    batchSize: z.number().int().positive().max(4096).default(8),
    /** Micro-batches summed into one optimizer step. */
    gradientAccumulationSteps: z.number().int().positive().max(4096).default(1),
    /** Peak learning rate. */
    learningRate: z.number().positive().max(1).default(1e-3),
    /** AdamW weight decay (default 0.01). */
    weightDecay: z.number().min(0).optional(),
    /** AdamW's β1 and β2, the decay rates of the moment estimates (default `[0.9, 0.999]`, PyTorch's). */
    adamBetas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).optional(),
    /** AdamW's ε, added to the denominator (default 1e-8). */
    adamEpsilon: z.number().positive().max(1).optional(),
    /** Decoupled weight decay (AdamW, default true); false is Adam with L2 regularization. */
    decoupledWeightDecay: z.boolean().optional(),
    /** Adam's bias correction of the moments (default true). */
    biasCorrection: z.boolean().optional(),
    /** Linear warmup steps of the learning rate. */
    warmupSteps: z.number().int().min(0).optional(),
    /** Decay after warmup (default `linear`). */
    schedule: z.enum(['constant', 'linear', 'cosine']).optional(),
    /**
     * Fraction of the peak learning rate the `linear` and `cosine` schedules decay to at the last
     * step (default 0).
     */
    minimumLearningRateRatio: z.number().min(0).max(1).optional(),
    /** Global gradient-norm clipping (0 disables; default 1). */
    maxGradientNorm: z.number().min(0).optional(),
    /** Longest sequence in tokens (default: the model's positions, at most 1024). */
    maxLength: z.number().int().min(2).max(1_000_000).optional(),
    /** Pack `{ text }` rows into full windows of `maxLength` tokens (default true for text, false otherwise). */
    packing: z.boolean().optional(),
    /** Rows longer than `maxLength`: cut (`truncate`, the default, counted in a warning) or dropped (`reject`). */
    overflow: z.enum(['truncate', 'reject']).optional(),
    /** Shuffle the training sequences each epoch, seeded by `seed` (default true). */
    shuffle: z.boolean().optional(),
    /** A NaN or infinite loss or gradient: fail the job (`error`, the default) or skip that step. */
    onNonFinite: z.enum(['error', 'skip']).optional(),
    /** Emit `training:step` (trackers, progress) every N optimizer steps (default 1). */
    logEvery: z.number().int().positive().optional(),
    /** Evaluate on the validation split every N optimizer steps (0: only at the end). */
    evalEvery: z.number().int().min(0).optional(),
    /** At most this many validation batches per evaluation (default: all). */
    evalBatches: z.number().int().positive().optional(),
    /** Save a checkpoint every N optimizer steps (0: only at the end). */
    checkpointEvery: z.number().int().min(0).optional(),
    /** Stop when the validation loss has not improved by `minDelta` for `patience` evaluations. */
    earlyStopping: z
      .object({ patience: z.number().int().positive(), minDelta: z.number().min(0).default(0) })
      .strict()
      .optional(),
    /** Seed of shuffling, dropout and sampling. */
    seed: z.number().int().default(42),
    /**
     * Recompute each transformer layer's activations in the backward pass instead of keeping them
     * (gradient checkpointing; causal language models): less peak memory, about one more forward
     * pass of compute per step. Same gradients. Default false.
     */
    gradientCheckpointing: z.boolean().optional(),
    /**
     * Compute precision of the training graph: `float32` (default), `float16` (half-precision
     * matrix products with float32 master weights and dynamic loss scaling) or `bfloat16` (CUDA
     * only). See `TrainingPrecisionSchema` and docs/training.md ("Mixed precision").
     */
    precision: TrainingPrecisionSchema.optional(),
  })
  .strict();

/** Hyper-parameters after defaults. */
export type Hyperparameters = z.infer<typeof HyperparametersSchema>;

/**
 * Where a training job's rows come from: a dataset version registered with `kit.datasets`
 * (`{ versionId }`), a JSON-lines artifact (`{ uri: 'artifact://…' }`), or rows inline (`{ rows }`).
 */
export const TrainingDataSourceSchema = z.union([
  z.object({ versionId: z.string().min(1).max(200) }).strict(),
  z.object({ uri: z.string().min(1) }).strict(),
  z.object({ rows: z.array(z.unknown()).min(1) }).strict(),
]);

/** Where a training job's rows come from. */
export type TrainingDataSource = z.infer<typeof TrainingDataSourceSchema>;

/** The `registerAs` option: register the output as a new version of this model when training succeeds. */
export const RegisterAsSchema = z
  .object({
    name: ModelNameSchema,
    description: z.string().max(10_000).optional(),
    tags: z.array(ModelTagSchema).max(50).default([]),
    /** Task of the model card (e.g. `text-generation`). */
    task: z.string().min(1).max(100).optional(),
    /** Language code(s) of the model card. */
    language: z.union([z.string().min(1).max(50), z.array(z.string().min(1).max(50))]).optional(),
    /** License of the model card. */
    license: z.string().min(1).max(200).optional(),
    /** Base model name for the card (default: the job's base model). */
    baseModel: z.string().min(1).optional(),
  })
  .strict();

/** The `registerAs` option of a training job. */
export type RegisterAs = z.infer<typeof RegisterAsSchema>;

/**
 * Input of a fine-tuning job (`kit.jobs.submit('train', input)`): the one training contract of
 * Tunekit. Validated when it is submitted (an unknown or misspelled field fails there, naming
 * itself, and nothing is queued); the trainer runs it, the registry registers its output, the
 * server's `POST /train` submits it.
 */
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
    /** Tokenizer folder or URI (default: the base model's, else byte-level). */
    tokenizer: z.string().min(1).optional(),
    /** Training rows. */
    dataset: TrainingDataSourceSchema,
    /** Validation rows (evaluated every `hyperparameters.evalEvery` steps and at the end). */
    validation: TrainingDataSourceSchema.optional(),
    /** LoRA settings; with them only the adapters train. Absent means full fine-tuning. */
    lora: LoraConfigSchema.optional(),
    /** A PEFT adapter folder to continue training from (LoRA). */
    adapter: z.string().min(1).optional(),
    /** Optimizer and loop settings. */
    hyperparameters: HyperparametersSchema.default(HyperparametersSchema.parse({})),
    /**
     * Direct preference optimization on `{ prompt, chosen, rejected }` rows (e.g. a feedback export
     * `as: 'preference'`) instead of supervised fine-tuning; `beta` weighs the implicit reward.
     */
    dpo: z
      .object({ beta: z.number().positive().max(100).default(0.1) })
      .strict()
      .optional(),
    /** Keep the frozen base 4-bit quantized (QLoRA-style; LoRA only). */
    quantization: QuantizationConfigSchema.optional(),
    /** Apply the model's and LoRA's dropout ratios while training (default false). */
    dropout: z.boolean().optional(),
    /** Execution device (`auto`: CUDA when it loads, else CPU with a warning). */
    device: z.enum(['cpu', 'cuda', 'auto']).default('cpu'),
    /** onnxruntime intra-op threads. */
    threads: z.number().int().min(1).max(256).optional(),
    /**
     * Name of the output: the adapter (LoRA) or model (full) is saved to
     * `artifact://models/<outputName>/<jobId>`. Default: `registerAs.name` when given, else only
     * checkpoints are kept.
     */
    outputName: ModelNameSchema.optional(),
    /** Register the output as a new model version under this name when training succeeds. */
    registerAs: RegisterAsSchema.optional(),
    /**
     * Memory the job may use, in MiB (the server sets `limits.jobMemoryLimitMb`). The trainer's
     * worker gets it as its JavaScript heap limit, and a watchdog fails the job with
     * `JOB_MEMORY_LIMIT` once the process's resident memory grew past it (an in-thread run,
     * `trainerPlugin({ worker: false })`, is stopped at its next step). Absent: no limit.
     */
    memoryLimitMb: z.number().int().min(1).optional(),
  })
  .strict()
  .superRefine((input, context) => {
    if (input.quantization !== undefined && input.lora === undefined && input.adapter === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['quantization'],
        message: 'a 4-bit quantized base needs lora settings (quantized weights cannot be trained)',
      });
    }
  });

/** Input of a fine-tuning job as callers write it (defaults optional). */
export type TrainingJobInputInput = z.input<typeof TrainingJobInputSchema>;

/** Input of a fine-tuning job after defaults. */
export type TrainingJobInput = z.infer<typeof TrainingJobInputSchema>;

/**
 * The artifact URI a training job saves its output under, `artifact://models/<name>/<jobId>` (one
 * folder per job, so two jobs with the same output name never overwrite each other), if any.
 */
export function trainingOutputUri(input: TrainingJobInput, jobId: string): string | undefined {
  const name = input.outputName ?? input.registerAs?.name;
  return name === undefined ? undefined : `artifact://models/${name}/${jobId}`;
}

/** The model version a training job registered (`output.registered`). */
export const RegisteredOutputSchema = z.object({
  /** Version id (`kit.registry.get(id)`). */
  id: z.string(),
  /** Registered model name. */
  name: z.string(),
  /** Version number. */
  version: z.number().int().positive(),
  /** `name@version`, the reference `kit.registry.get` and `openModel` take. */
  reference: z.string(),
});

/** The model version a training job registered. */
export type RegisteredOutput = z.infer<typeof RegisteredOutputSchema>;

/** Output of a fine-tuning job (stored as the job's output). */
export const TrainingJobOutputSchema = z.object({
  steps: z.number().int().min(0),
  finalLoss: z.number().optional(),
  bestValidationLoss: z.number().optional(),
  finalPerplexity: z.number().optional(),
  tokensPerSecond: z.number(),
  lastCheckpoint: z.string().optional(),
  bestCheckpoint: z.string().optional(),
  /** Where the adapter or model was saved (`artifact://models/<outputName>/<jobId>`). */
  output: z.string().optional(),
  status: z.enum(['succeeded', 'stopped-early']),
  /** The version registered from this job (with `registerAs`); present before the job is `succeeded`. */
  registered: RegisteredOutputSchema.optional(),
});

/** Output of a fine-tuning job. */
export type TrainingJobOutput = z.infer<typeof TrainingJobOutputSchema>;

/**
 * A fine-tuning job: a job record of kind `train` with a typed input. Status follows the job
 * lifecycle `queued → validating → running → succeeded | failed | cancelled`.
 */
export const TrainingJobSchema = JobSchema.extend({
  kind: z.literal(TRAINING_JOB_KIND),
  input: TrainingJobInputSchema,
  output: TrainingJobOutputSchema.optional(),
});

/** A fine-tuning job record. */
export type TrainingJob = z.infer<typeof TrainingJobSchema>;
