import { tunekitError } from '../errors/tunekit-error.js';
import type { Job } from '../schemas/job.js';
import type { EngineQueueRuntime, EngineRun, EngineRunOutcome } from './engine-queue-runtime.js';
import { Unchanged, updateHeldRecord } from './job-queue-runtime.js';
import { describeJobError, retryDelayMs, shouldRetryJob } from './job-retry-policy.js';
import type { DeliveryOutcome } from './queue-engine.js';
import { settledJobRecord } from './settled-job-record.js';

/** What {@link finishEngineRun} needs to know about the run beyond its outcome. */
export interface FinishedEngineRun {
  /** The record as this run claimed it (its attempt decides retries). */
  claimed: Job;
  /** Milliseconds the run took. */
  durationMs: number;
  /** The timeout the run had, for the `JOB_TIMEOUT` message. */
  timeoutMs: number | undefined;
}

/**
 * Writes how a run ended into the job record, as a compare-and-set on this run's claim, emits the
 * matching event and tells the engine what to do with the delivery:
 * - `lost` (cancelled or redelivered elsewhere): nothing is written, `done`;
 * - `closing`: the record goes back to `queued`, `release` (the engine re-queues it at once, no attempt counted);
 * - `succeeded`: `succeeded` with the output, `job:succeeded`, `done`;
 * - failed or timed out with attempts left and a retryable error: `queued` with `notBefore` after
 *   the backoff, `job:retrying`, `retry` (the engine retries with the same backoff);
 * - otherwise `failed`, `job:failed`, `failed`.
 * A run whose claim was lost meanwhile writes nothing and answers `done`.
 */
export async function finishEngineRun(
  runtime: EngineQueueRuntime,
  run: EngineRun,
  result: EngineRunOutcome,
  { claimed, durationMs, timeoutMs }: FinishedEngineRun,
): Promise<DeliveryOutcome> {
  const { events, logger } = runtime;
  const id = claimed.id;
  if (result.type === 'lost') {
    logger.info({ jobId: id, status: result.current.status }, 'A running job was cancelled or taken over');
    return { type: 'done' };
  }
  if (result.type === 'closing') {
    const released = await updateHeldRecord(runtime, run.job, (current) =>
      settledJobRecord(current, run.job, { status: 'queued' }),
    );
    return released instanceof Unchanged ? { type: 'done' } : { type: 'release' };
  }
  if (result.type === 'succeeded') {
    const written = await updateHeldRecord(runtime, run.job, (current) =>
      settledJobRecord(current, run.job, { status: 'succeeded', output: result.output }),
    );
    if (!(written instanceof Unchanged)) {
      events.emit('job:succeeded', { jobId: id, kind: claimed.kind, durationMs, output: result.output });
    }
    return { type: 'done' };
  }
  const error =
    result.type === 'timeout'
      ? tunekitError('JOB_TIMEOUT', `Job ${id} exceeded its timeout of ${timeoutMs} ms`)
      : result.error;
  const described = describeJobError(error);
  if (shouldRetryJob(claimed, error, false)) {
    const delayMs = retryDelayMs(claimed);
    const written = await updateHeldRecord(runtime, run.job, (current) =>
      settledJobRecord(current, run.job, {
        status: 'queued',
        error: described,
        notBefore: Date.now() + delayMs,
      }),
    );
    if (written instanceof Unchanged) return { type: 'done' };
    events.emit('job:retrying', {
      jobId: id,
      kind: claimed.kind,
      attempt: claimed.attempt,
      delayMs,
      error: described.message,
    });
    return { type: 'retry', reason: described.message };
  }
  const written = await updateHeldRecord(runtime, run.job, (current) =>
    settledJobRecord(current, run.job, { status: 'failed', error: described }),
  );
  if (written instanceof Unchanged) return { type: 'done' };
  events.emit('job:failed', {
    jobId: id,
    kind: claimed.kind,
    durationMs,
    error: described.message,
    code: described.code,
  });
  return { type: 'failed', reason: described.message };
}
