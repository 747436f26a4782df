import { tunekitError } from '../errors/tunekit-error.js';
import type { Job } from '../schemas/job.js';
import type { EngineQueueRuntime, EngineRun, EngineRunOutcome } from './engine-queue-runtime.js';
import { finishEngineRun } from './finish-engine-run.js';
import type { JobContext } from './job-queue.js';
import { isHeldBy, type RegisteredKind, Unchanged, updateHeldRecord } from './job-queue-runtime.js';
import type { DeliveryOutcome, QueueDelivery } from './queue-engine.js';

/**
 * Runs a job this process claimed: calls its handler with a {@link JobContext} and waits for the
 * first outcome (result, error, timeout, close, or the record changed by another process: a cancel
 * or a redelivery, seen by re-reading it every `pollIntervalMs` or by a lost progress write).
 * Progress is emitted here, published through the engine to the other processes, and persisted at
 * most every `progressInterval`. Unless the handler returned, its signal is aborted with the reason
 * (`JOB_TIMEOUT`, `KIT_CLOSED`, `JOB_CANCELLED`, `JOB_LEASE_LOST`) and it gets `shutdownGraceMs` to
 * return (a training checkpoints its step) before {@link finishEngineRun} writes the outcome.
 */
export async function executeEngineRun(
  runtime: EngineQueueRuntime,
  claimed: Job,
  kind: RegisteredKind,
  delivery: QueueDelivery,
): Promise<DeliveryOutcome> {
  const { events, logger, records } = runtime;
  const id = claimed.id;
  const startedAt = Date.now();
  let settled = false;
  let settleOutcome: (outcome: EngineRunOutcome) => void = () => {};
  const outcome = new Promise<EngineRunOutcome>((resolve) => {
    settleOutcome = resolve;
  });
  let markDone = () => {};
  const run: EngineRun = {
    job: claimed,
    controller: new AbortController(),
    settle(value) {
      if (!settled) {
        settled = true;
        settleOutcome(value);
      }
    },
    done: new Promise<void>((resolve) => {
      markDone = resolve;
    }),
  };
  runtime.local.set(id, run);
  let lastProgressWrite = 0;
  let progressTimer: NodeJS.Timeout | undefined;
  let writingProgress = false;
  const timeoutMs = claimed.timeoutMs ?? kind.options.timeoutMs;
  const timeoutTimer =
    timeoutMs === undefined ? undefined : setTimeout(() => run.settle({ type: 'timeout' }), timeoutMs);
  // A cancel (or a redelivery) from another process shows in the record.
  const watchTimer = setInterval(() => {
    void records.get(id).then(
      (current) => {
        if (current === undefined || !isHeldBy(current, runtime.runnerId, run.job.attempt)) {
          run.settle({ type: 'lost', current: current ?? { ...run.job, status: 'cancelled' } });
        }
      },
      (error: unknown) => logger.warn({ err: error, jobId: id }, 'Reading a running job failed'),
    );
  }, runtime.pollIntervalMs);
  const persistProgress = () => {
    progressTimer = undefined;
    if (settled || writingProgress) return;
    writingProgress = true;
    lastProgressWrite = Date.now();
    const { progress, progressMessage, metrics } = run.job;
    void updateHeldRecord(runtime, run.job, (current) => ({
      ...current,
      progress,
      progressMessage,
      metrics,
    }))
      .then(
        (written) => {
          if (written instanceof Unchanged) run.settle({ type: 'lost', current: written.current });
        },
        (error: unknown) => logger.warn({ err: error, jobId: id }, 'Writing job progress failed'),
      )
      .finally(() => {
        writingProgress = false;
      });
  };
  events.emit('job:started', { jobId: id, kind: claimed.kind, attempt: claimed.attempt });
  const context: JobContext = {
    jobId: id,
    kind: claimed.kind,
    attempt: claimed.attempt,
    owner: claimed.owner,
    signal: run.controller.signal,
    progress(value, update) {
      if (settled || !Number.isFinite(value)) return;
      const progress = Math.min(1, Math.max(0, value));
      run.job = {
        ...run.job,
        progress,
        progressMessage: update?.message ?? run.job.progressMessage,
        metrics: { ...run.job.metrics, ...(update?.metrics ?? {}) },
      };
      const published = {
        jobId: id,
        kind: claimed.kind,
        attempt: claimed.attempt,
        progress,
        message: update?.message,
        metrics: update?.metrics,
      };
      events.emit('job:progress', published);
      void delivery
        .publishProgress(published)
        .catch((error: unknown) => logger.debug({ err: error, jobId: id }, 'Publishing progress failed'));
      const wait = lastProgressWrite + runtime.progressInterval - Date.now();
      if (wait <= 0) persistProgress();
      else progressTimer ??= setTimeout(persistProgress, wait);
    },
  };
  const handlerDone = Promise.resolve()
    .then(() => kind.handler(claimed.input, context))
    .then(
      (output) => run.settle({ type: 'succeeded', output }),
      (error: unknown) => run.settle({ type: 'failed', error }),
    );
  try {
    const result = await outcome;
    clearTimeout(timeoutTimer);
    clearInterval(watchTimer);
    clearTimeout(progressTimer);
    const durationMs = Date.now() - startedAt;
    if (result.type !== 'succeeded' && result.type !== 'failed') {
      run.controller.abort(abortReason(id, result, timeoutMs));
      // Let the handler stop at its next step (a training checkpoints it) before the job moves on.
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        handlerDone,
        new Promise((resolve) => {
          graceTimer = setTimeout(resolve, runtime.shutdownGraceMs);
        }),
      ]);
      clearTimeout(graceTimer);
    }
    return await finishEngineRun(runtime, run, result, { claimed, durationMs, timeoutMs });
  } finally {
    clearTimeout(timeoutTimer);
    clearInterval(watchTimer);
    clearTimeout(progressTimer);
    if (runtime.local.get(id) === run) runtime.local.delete(id);
    markDone();
  }
}

/** The reason a handler's signal is aborted with when its run ends without its result. */
function abortReason(
  id: string,
  result: Exclude<EngineRunOutcome, { type: 'succeeded' } | { type: 'failed' }>,
  timeoutMs: number | undefined,
) {
  if (result.type === 'timeout') {
    return tunekitError('JOB_TIMEOUT', `Job ${id} exceeded its timeout of ${timeoutMs} ms`, {
      jobId: id,
      timeoutMs,
    });
  }
  if (result.type === 'closing') {
    return tunekitError('KIT_CLOSED', 'The worker is shutting down', { jobId: id });
  }
  return result.current.status === 'cancelled'
    ? tunekitError('JOB_CANCELLED', `Job ${id} was cancelled`, { jobId: id })
    : tunekitError('JOB_LEASE_LOST', `Job ${id} was taken over by runner ${result.current.runnerId}`, {
        jobId: id,
        holder: result.current.runnerId,
      });
}
