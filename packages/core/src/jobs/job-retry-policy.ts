import { TunekitError } from '../errors/tunekit-error.js';
import type { Job } from '../schemas/job.js';

/** The `{ code, message }` a failed job records: the coded error's, or `INTERNAL` for anything else. */
export function describeJobError(error: unknown): { code: string; message: string } {
  if (TunekitError.isInstance(error)) {
    return { code: error.code, message: error.message };
  }
  if (error instanceof Error) {
    return { code: 'INTERNAL', message: error.message };
  }
  return { code: 'INTERNAL', message: String(error) };
}

/**
 * Whether a failed attempt may be retried: every error may, except a {@link TunekitError} whose
 * `details.retryable` is `false` (how a handler opts out).
 */
export function isRetryable(error: unknown): boolean {
  return !(TunekitError.isInstance(error) && error.details.retryable === false);
}

/**
 * Whether a job that failed its current attempt with `error` is queued again: attempts remain, the
 * error is retryable and the runner is not closing.
 */
export function shouldRetryJob(job: Job, error: unknown, closing: boolean): boolean {
  return job.attempt < job.maxAttempts && isRetryable(error) && !closing;
}

/** Milliseconds before the next attempt of a job that failed attempt `job.attempt`: `backoffMs × 2^(attempt−1)`. */
export function retryDelayMs(job: Pick<Job, 'attempt' | 'backoffMs'>): number {
  return job.backoffMs * 2 ** (job.attempt - 1);
}
