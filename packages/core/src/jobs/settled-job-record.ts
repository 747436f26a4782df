import type { Job } from '../schemas/job.js';

/** The `{ code, message }` a job record keeps of an error. */
type JobRecordError = NonNullable<Job['error']>;

/** How a run ended, as its job record stores it. */
export type JobSettlement =
  /** The handler returned `output`. */
  | { status: 'succeeded'; output: unknown }
  /** The job is over without a result. */
  | { status: 'failed' | 'cancelled'; error: JobRecordError }
  /** Queued again: a retry (with the error and the time it may start) or a release at shutdown. */
  | { status: 'queued'; error?: JobRecordError; notBefore?: number };

/**
 * The record a run writes when it ends (the in-process runner's and the engine-backed queue's):
 * `current`, the stored record, with the run's latest progress, message and metrics (kept in
 * memory by the run, persisted throttled) and the settlement: `succeeded` with its output and full
 * progress, `failed` or `cancelled` with the error and `finishedAt`, or `queued` again.
 */
export function settledJobRecord(
  current: Job,
  run: Pick<Job, 'progress' | 'progressMessage' | 'metrics'>,
  settlement: JobSettlement,
  finishedAt = new Date().toISOString(),
): Job {
  const latest = {
    ...current,
    progress: run.progress,
    progressMessage: run.progressMessage,
    metrics: run.metrics,
  };
  if (settlement.status === 'succeeded') {
    return {
      ...latest,
      status: 'succeeded',
      output: settlement.output,
      progress: 1,
      error: undefined,
      finishedAt,
    };
  }
  if (settlement.status === 'queued') return { ...latest, ...settlement };
  return { ...latest, status: settlement.status, error: settlement.error, finishedAt };
}
