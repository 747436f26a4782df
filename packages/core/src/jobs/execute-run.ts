import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';
import type { Job } from '../schemas/job.js';
import { claimJob } from './claim-job.js';
import type { JobContext } from './job-queue.js';
import {
  type ActiveRun,
  bumpRevision,
  enqueue,
  type JobQueueRuntime,
  type RegisteredKind,
  type RunOutcome,
  track,
  Unchanged,
  writeHeld,
} from './job-queue-runtime.js';
import { describeJobError, retryDelayMs, shouldRetryJob } from './job-retry-policy.js';
import { settledJobRecord } from './settled-job-record.js';

/**
 * Runs one job on this runner: claims it, calls its handler with a {@link JobContext} (progress,
 * abort signal, timeout), waits for the first outcome (result, error, timeout, cancellation, close,
 * or the job taken by another runner) and writes the final state, a retry or nothing. Frees the slot
 * and dispatches the next job when it ends.
 */
export async function executeRun(
  runtime: JobQueueRuntime,
  run: ActiveRun,
  outcome: Promise<RunOutcome>,
  resolveClaimed: (holds: boolean) => void,
) {
  const id = run.id;
  const startedAt = Date.now();
  let timeoutTimer: NodeJS.Timeout | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  let lastProgressWrite = 0;
  let pendingProgress: Pick<Job, 'progress' | 'progressMessage' | 'metrics'> | undefined;
  let finished = false;
  try {
    const claimedJob = await claimJob(runtime, run);
    if (claimedJob === undefined) {
      return;
    }
    const job = claimedJob.job;
    run.job = job;
    runtime.held.set(id, run);
    resolveClaimed(true);
    if (runtime.closed) {
      // Claimed while the queue was closing: put it back as it was.
      const restored = await writeHeld(runtime, run, () => claimedJob.before);
      if (restored !== undefined && !(restored instanceof Unchanged)) {
        await bumpRevision(runtime);
      }
      return;
    }
    const kind = runtime.kinds.get(job.kind) as RegisteredKind;
    runtime.events.emit('job:started', { jobId: id, kind: job.kind, attempt: job.attempt });

    const timeoutMs = job.timeoutMs ?? kind.options.timeoutMs;
    if (timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => run.settle({ type: 'timeout' }), timeoutMs);
    }

    const writeProgress = () => {
      progressTimer = undefined;
      if (pendingProgress === undefined || finished) {
        return;
      }
      const update = pendingProgress;
      pendingProgress = undefined;
      lastProgressWrite = Date.now();
      track(
        runtime,
        writeHeld(runtime, run, (current) => ({ ...current, ...update })).then((written) => {
          if (written instanceof Unchanged) {
            run.settle({ type: 'lost', current: written.current });
          }
        }),
      );
    };

    const context: JobContext = {
      jobId: id,
      kind: job.kind,
      attempt: job.attempt,
      owner: job.owner,
      signal: run.controller.signal,
      progress(value, update) {
        if (finished || !Number.isFinite(value)) {
          return;
        }
        const progress = Math.min(1, Math.max(0, value));
        const current = run.job;
        pendingProgress = {
          progress,
          progressMessage: update?.message ?? current.progressMessage,
          metrics: { ...current.metrics, ...(pendingProgress?.metrics ?? {}), ...(update?.metrics ?? {}) },
        };
        run.job = { ...current, ...pendingProgress };
        runtime.events.emit('job:progress', {
          jobId: id,
          kind: current.kind,
          attempt: current.attempt,
          progress,
          message: update?.message,
          metrics: update?.metrics,
        });
        const wait = lastProgressWrite + runtime.progressInterval - Date.now();
        if (wait <= 0) {
          writeProgress();
        } else if (progressTimer === undefined) {
          progressTimer = setTimeout(writeProgress, wait);
        }
      },
    };

    const input = job.input;
    if (!run.isSettled()) {
      const handling = Promise.resolve()
        .then(() => kind.handler(input, context))
        .then(
          (output) => run.settle({ type: 'succeeded', output }),
          (error: unknown) => run.settle({ type: 'failed', error }),
        );
      runtime.handlers.set(id, handling);
      void handling.then(() => {
        if (runtime.handlers.get(id) === handling) runtime.handlers.delete(id);
      });
    }

    const result = await outcome;
    finished = true;
    // The slot is free as soon as the outcome is known, so a caller who saw the final status can rely on it.
    runtime.active.delete(id);
    if (result.type === 'timeout') {
      run.controller.abort(
        tunekitError('JOB_TIMEOUT', `Job ${id} exceeded its timeout of ${timeoutMs} ms`, {
          jobId: id,
          timeoutMs,
        }),
      );
    } else if (result.type === 'cancelled') {
      run.controller.abort(
        tunekitError('JOB_CANCELLED', `Job ${id} was cancelled: ${result.reason}`, { jobId: id }),
      );
    } else if (result.type === 'closing') {
      run.controller.abort(tunekitError('KIT_CLOSED', 'The job queue is closing', { jobId: id }));
    } else if (result.type === 'lost') {
      run.controller.abort(lostError(runtime, id, result.current));
    }
    if (result.type === 'closing') {
      // Left `running` on purpose with its lease released: any runner (this one's next start
      // included) recovers it at once.
      const progressFields = {
        progress: run.job.progress,
        progressMessage: run.job.progressMessage,
        metrics: run.job.metrics,
      };
      await writeHeld(runtime, run, (current) => ({
        ...current,
        ...progressFields,
        leaseExpiresAt: Date.now(),
      }));
      return;
    }
    if (result.type === 'lost') {
      reportLost(runtime, run, result.current, startedAt);
      return;
    }
    await finish(runtime, run, result, startedAt, timeoutMs);
  } finally {
    finished = true;
    resolveClaimed(false);
    clearTimeout(timeoutTimer);
    clearTimeout(progressTimer);
    runtime.active.delete(id);
    runtime.held.delete(id);
    runtime.dispatch();
  }
}

function lostError(runtime: JobQueueRuntime, id: string, current: Job): TunekitError {
  if (current.status === 'cancelled') {
    return tunekitError(
      'JOB_CANCELLED',
      `Job ${id} was cancelled: ${current.error?.message ?? 'by another runner'}`,
      {
        jobId: id,
      },
    );
  }
  return tunekitError(
    'JOB_LEASE_LOST',
    `Runner ${runtime.runnerId} lost job ${id}: it is now ${current.status}${current.runnerId !== undefined && current.runnerId !== runtime.runnerId ? ` (runner ${current.runnerId})` : ''}`,
    { jobId: id, runnerId: runtime.runnerId, status: current.status, holder: current.runnerId },
  );
}

/** A job this runner ran was finalized or taken by another runner: report it locally, write nothing. */
function reportLost(runtime: JobQueueRuntime, run: ActiveRun, current: Job, startedAt: number) {
  const id = run.id;
  if (current.status === 'cancelled') {
    runtime.logger.info({ jobId: id, kind: run.job.kind }, 'A running job was cancelled by another runner');
    runtime.events.emit('job:cancelled', { jobId: id, kind: run.job.kind });
    return;
  }
  runtime.logger.warn(
    { jobId: id, kind: run.job.kind, status: current.status, holder: current.runnerId },
    'This runner lost a running job to another runner (its lease lapsed); its handler was aborted',
  );
  if (current.status === 'failed') {
    runtime.events.emit('job:failed', {
      jobId: id,
      kind: run.job.kind,
      durationMs: Date.now() - startedAt,
      error: current.error?.message ?? 'lost',
      code: current.error?.code,
    });
  }
}

async function finish(
  runtime: JobQueueRuntime,
  run: ActiveRun,
  result: Exclude<RunOutcome, { type: 'closing' } | { type: 'lost' }>,
  startedAt: number,
  timeoutMs: number | undefined,
) {
  const job = run.job;
  const durationMs = Date.now() - startedAt;
  const finishedAt = new Date().toISOString();
  /** Writes the final state; false when the job was taken meanwhile (then reported, not written). */
  const write = async (change: (current: Job) => Job): Promise<Job | undefined | false> => {
    const written = await writeHeld(runtime, run, (current) => ({
      ...change(current),
      leaseExpiresAt: undefined,
    }));
    if (written instanceof Unchanged) {
      reportLost(runtime, run, written.current, startedAt);
      return false;
    }
    return written;
  };
  if (result.type === 'succeeded') {
    const written = await write((current) =>
      settledJobRecord(current, job, { status: 'succeeded', output: result.output }, finishedAt),
    );
    if (written !== false) {
      runtime.events.emit('job:succeeded', {
        jobId: job.id,
        kind: job.kind,
        durationMs,
        output: result.output,
      });
    }
    return;
  }
  if (result.type === 'cancelled') {
    const written = await write((current) =>
      settledJobRecord(
        current,
        job,
        { status: 'cancelled', error: { code: 'JOB_CANCELLED', message: result.reason } },
        finishedAt,
      ),
    );
    if (written !== false) {
      runtime.events.emit('job:cancelled', { jobId: job.id, kind: job.kind });
    }
    return;
  }
  const error =
    result.type === 'timeout'
      ? tunekitError('JOB_TIMEOUT', `Job ${job.id} exceeded its timeout of ${timeoutMs} ms`)
      : result.error;
  const described = describeJobError(error);
  if (shouldRetryJob(job, error, runtime.closed)) {
    const delayMs = retryDelayMs(job);
    const updated = await write((current) =>
      settledJobRecord(current, job, { status: 'queued', error: described, notBefore: Date.now() + delayMs }),
    );
    if (updated === false) {
      return;
    }
    runtime.events.emit('job:retrying', {
      jobId: job.id,
      kind: job.kind,
      attempt: job.attempt,
      delayMs,
      error: described.message,
    });
    if (updated !== undefined && updated.status === 'queued') {
      enqueue(runtime, updated);
      await bumpRevision(runtime);
    }
    return;
  }
  const written = await write((current) =>
    settledJobRecord(current, job, { status: 'failed', error: described }, finishedAt),
  );
  if (written !== false) {
    runtime.events.emit('job:failed', {
      jobId: job.id,
      kind: job.kind,
      durationMs,
      error: described.message,
      code: described.code,
    });
  }
}
