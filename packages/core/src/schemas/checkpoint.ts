import { z } from 'zod';

/** What a checkpoint holds: LoRA adapter weights only, or a full model. */
export const CheckpointKindSchema = z.enum(['adapter', 'model']);

/** What a checkpoint holds. */
export type CheckpointKind = z.infer<typeof CheckpointKindSchema>;

/**
 * A checkpoint saved during a training job: where its files are (an `artifact://` URI prefix) and
 * the step and losses at that point. The trainer keeps the best and the last and deletes the rest.
 */
export const CheckpointSchema = z
  .object({
    id: z.string().min(1),
    /** The training job that saved it. */
    jobId: z.string().min(1),
    /** Optimizer step at which it was saved. */
    step: z.number().int().min(0),
    /** Epoch (fractional) at which it was saved. */
    epoch: z.number().min(0).optional(),
    kind: CheckpointKindSchema,
    /** `artifact://` URI prefix of its files. */
    uri: z.string().regex(/^artifact:\/\/\S+$/, 'must be an artifact:// URI'),
    trainingLoss: z.number().optional(),
    validationLoss: z.number().optional(),
    /** Other metrics at that step (perplexity, accuracy …). */
    metrics: z.record(z.string(), z.number()).default({}),
    /** Whether it has the best validation loss of its job so far. */
    isBest: z.boolean().default(false),
    /** Total bytes of its files. */
    sizeBytes: z.number().int().min(0).optional(),
    /** Hex sha256 of the weights file. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
      .optional(),
    createdAt: z.iso.datetime(),
    version: z.number().int().min(0).default(0),
  })
  .strict();

/** A checkpoint record. */
export type Checkpoint = z.infer<typeof CheckpointSchema>;
