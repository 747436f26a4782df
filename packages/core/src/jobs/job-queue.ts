import type { z } from 'zod';
import type { Job, JobStatus } from '../schemas/job.js';
import type { JobInputOf } from './job-kinds.js';

/** What a job handler receives besides its input. */
export interface JobContext {
  jobId: string;
  kind: string;
  /** 1 for the first try. */
  attempt: number;
  owner?: string;
  /**
   * Aborted on cancel (from any runner), timeout, kit close, or when this runner lost the job to
   * another one (`JOB_LEASE_LOST`). Handlers must stop promptly and may throw.
   */
  signal: AbortSignal;
  /**
   * Reports progress in [0, 1] with optional message and metrics (emits `job:progress` on this
   * runner's event bus, persisted throttled).
   */
  progress(progress: number, update?: { message?: string; metrics?: Record<string, number> }): void;
}

/** A function that runs one job. Its return value is stored as the job's output (JSON). */
export type JobHandler<Input = unknown, Output = unknown> = (
  input: Input,
  context: JobContext,
) => Promise<Output>;

/** Options of a registered job kind. */
export interface JobKindOptions {
  /** Default attempts for this kind (1 = no retry). */
  maxAttempts?: number;
  /** Default timeout in milliseconds. */
  timeoutMs?: number;
  /**
   * Whether a running job whose runner stopped (crashed, stalled past its lease, or closed) is
   * re-queued (true; the handler may then run again, so make it resumable) or marked failed with
   * `JOB_INTERRUPTED` (false, default).
   */
  requeueOnRecovery?: boolean;
  /** Most jobs of this kind running at once on one runner (default: only the queue's global limit applies). */
  concurrency?: number;
  /**
   * Schema of the kind's input: `submit` parses the input with it (defaults applied, stored parsed)
   * and rejects a bad one with `VALIDATION_FAILED` naming the fields, before anything is queued.
   * Kinds core owns (`train`) are validated with core's schema without it.
   */
  inputSchema?: z.ZodType;
}

/** Options of one submission. */
export interface SubmitOptions {
  owner?: string;
  /** Higher runs first (default 0). */
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  /** First retry delay in ms, doubled each attempt (default 1000). */
  backoffMs?: number;
}

/** A list query over jobs. */
export interface JobListQuery {
  kind?: string;
  owner?: string;
  status?: JobStatus;
  limit?: number;
  cursor?: string;
}

/**
 * The kit's job queue. The in-process runner implements it; a BullMQ runner over Redis can
 * implement the same interface and run the same handlers on workers.
 */
export interface JobQueue {
  register<Input, Output>(kind: string, handler: JobHandler<Input, Output>, options?: JobKindOptions): void;
  /**
   * Queues a job of `kind`. The input is typed per kind (see `JobKinds`) and, for kinds with a
   * schema, validated here: a bad input throws `VALIDATION_FAILED` naming the fields sent, and
   * nothing is queued.
   */
  submit<Kind extends string>(kind: Kind, input: JobInputOf<Kind>, options?: SubmitOptions): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  list(query?: JobListQuery): Promise<{ items: Job[]; nextCursor?: string }>;
  /**
   * Cancels a queued or running job and returns it `cancelled`. A job running on another runner
   * sharing the storage is marked cancelled at once; that runner aborts its handler's signal when it
   * next renews its lease.
   */
  cancel(id: string, reason?: string): Promise<Job>;
  /**
   * Re-queues an interrupted job so that it continues where it stopped: a `cancelled` or `failed`
   * job, or a `running` one whose runner is gone (its lease lapsed or was released at close). Its
   * next attempt starts with `attempt > 1`, so a resumable handler (the trainer) continues from its
   * last checkpoint. Only this job is re-queued (unlike a queue started with `recover`, which takes
   * every interrupted job of the store). Throws `JOB_NOT_FOUND`, or `JOB_NOT_RESUMABLE` for a job
   * that is queued, succeeded or running on a live runner. On a queue engine (BullMQ, pg-boss) a
   * `cancelled` or `failed` job resumes as a new engine job (its `engineJobId`); a running one is
   * not resumable there, since the engine redelivers the job of a worker that stopped by itself.
   */
  resume(id: string): Promise<Job>;
  /** Resolves with the job once it reaches a final status, whichever runner ran it. */
  wait(id: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Job>;
  /**
   * Stops taking new jobs and aborts running ones; they stay `running` with their lease released, so
   * that any runner (or the next start) recovers them.
   */
  close(): Promise<void>;
}
