import type { z } from 'zod';
import {
  TRAINING_JOB_KIND,
  type TrainingJobInputInput,
  TrainingJobInputSchema,
  type TrainingJobOutput,
} from '../schemas/training-job.js';

/**
 * The job kinds Tunekit knows, with their input (as callers write it) and output types, so that
 * `kit.jobs.submit(kind, input)` is typed per kind. Core declares the kinds it owns; a plugin adds
 * its own by declaration merging:
 * ```ts
 * declare module '@tunekit/core' {
 *   interface JobKinds { 'similar-notes:reindex': { input: { full?: boolean }; output: { indexed: number } } }
 * }
 * ```
 * Kinds not declared here accept any input (`unknown`).
 */
export interface JobKinds {
  /** Fine-tuning: the one training contract (see `TrainingJobInputSchema`). */
  train: { input: TrainingJobInputInput; output: TrainingJobOutput };
}

/** Input type of job kind `Kind` (`unknown` for kinds not declared in {@link JobKinds}). */
export type JobInputOf<Kind extends string> = Kind extends keyof JobKinds ? JobKinds[Kind]['input'] : unknown;

/**
 * Input schemas of the job kinds core owns: `submit` validates against them even in a process that
 * runs no handler of that kind (a web process submitting to workers). Kinds registered with
 * `inputSchema` (see `JobKindOptions`) are validated the same way.
 */
export const CORE_JOB_INPUT_SCHEMAS: Readonly<Record<string, z.ZodType>> = Object.freeze({
  [TRAINING_JOB_KIND]: TrainingJobInputSchema,
});
