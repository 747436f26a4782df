import { z } from 'zod';

/** Lifecycle of a job: `queued → (validating) → running → succeeded | failed | cancelled`. */
export const JobStatusSchema = z.enum([
  'queued',
  'validating',
  'running',
  'succeeded',
  'failed',
  'cancelled',
]);

/** Status of a job. */
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** A job record as persisted by the queue. */
export const JobSchema = z.object({
  id: z.string().min(1),
  kind: z.string().min(1),
  status: JobStatusSchema,
  input: z.unknown(),
  output: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  owner: z.string().optional(),
  priority: z.number().int().default(0),
  attempt: z.number().int().min(0).default(0),
  maxAttempts: z.number().int().min(1).default(1),
  timeoutMs: z.number().int().positive().optional(),
  backoffMs: z.number().int().min(0).default(1000),
  progress: z.number().min(0).max(1).default(0),
  progressMessage: z.string().optional(),
  metrics: z.record(z.string(), z.number()).default({}),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Epoch ms before which a retry must not start. */
  notBefore: z.number().optional(),
  /**
   * The runner (job queue instance) that claimed the job for its current or last attempt. Kept after
   * the job finishes, to tell which runner ran it.
   */
  runnerId: z.string().optional(),
  /**
   * While `running`: epoch ms until which `runnerId` holds the job. The runner renews it while the
   * handler runs; once it lapses, another runner recovers the job. A running record without it
   * (written by an older version) counts as lapsed. Absent once the job leaves `running`.
   */
  leaseExpiresAt: z.number().optional(),
  /**
   * The process of the runner, so that a runner in the same PID namespace of the same machine boot
   * can tell that it died without waiting for the lease to lapse. Absent where unknown (not Linux).
   */
  runnerProcess: z.object({ namespace: z.string(), pid: z.number().int() }).optional(),
  /**
   * On a queue engine (BullMQ, pg-boss): the engine's id of the job's current run when it is not the
   * job's own id, i.e. after `resume` queued a new engine job for it (engines keep a finished job's
   * id). Deliveries of any other engine job for this record are stale and run nothing.
   */
  engineJobId: z.string().optional(),
  version: z.number().int().min(0).default(0),
});

/** A job record. */
export type Job = z.infer<typeof JobSchema>;
