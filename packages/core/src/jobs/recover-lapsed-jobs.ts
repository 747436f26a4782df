import type { Job } from '../schemas/job.js';
import {
  bumpRevision,
  enqueue,
  hasCode,
  isLapsed,
  type JobQueueRuntime,
  track,
  Unchanged,
  updateRecord,
} from './job-queue-runtime.js';

/** Re-queues or fails running jobs of `kind` whose lease lapsed (checked again in each update). */
export async function recoverLapsedJobs(
  runtime: JobQueueRuntime,
  kind: string,
  candidates: Job[],
): Promise<void> {
  const requeue = runtime.kinds.get(kind)?.options.requeueOnRecovery === true;
  for (const candidate of candidates) {
    if (runtime.closed) {
      return;
    }
    const id = candidate.id;
    if (runtime.held.has(id) || runtime.active.has(id)) {
      continue;
    }
    let updated: Job;
    try {
      updated = await updateRecord(runtime, id, (current) => {
        if (current.status !== 'running' || !isLapsed(runtime, current)) {
          throw new Unchanged(current);
        }
        if (requeue) {
          return { ...current, status: 'queued', notBefore: undefined, leaseExpiresAt: undefined };
        }
        return {
          ...current,
          status: 'failed',
          error: {
            code: 'JOB_INTERRUPTED',
            message: `The process running job ${id} stopped or lost its lease (attempt ${current.attempt})`,
          },
          finishedAt: new Date().toISOString(),
          leaseExpiresAt: undefined,
        };
      });
    } catch (error) {
      if (!(error instanceof Unchanged) && !hasCode(error, 'NOT_FOUND') && !runtime.closed) {
        runtime.logger.error({ err: error, jobId: id }, 'Recovering a job failed');
      }
      continue;
    }
    runtime.logger.warn(
      { jobId: id, kind, status: updated.status, previousRunner: candidate.runnerId },
      'Recovered a running job whose runner stopped (its lease lapsed)',
    );
    if (updated.status === 'queued') {
      enqueue(runtime, updated);
      runtime.events.emit('job:queued', { jobId: id, kind, owner: updated.owner });
      await bumpRevision(runtime);
    } else if (updated.status === 'failed') {
      runtime.events.emit('job:failed', {
        jobId: id,
        kind,
        durationMs: 0,
        error: updated.error?.message ?? 'interrupted',
        code: 'JOB_INTERRUPTED',
      });
    }
  }
}

/**
 * Lists the queued and running jobs: refreshes the pending mirror (adds jobs queued by other
 * runners, drops those claimed or cancelled elsewhere) and recovers lapsed leases.
 */
export async function sweepJobs(runtime: JobQueueRuntime): Promise<void> {
  const firstUnseen = runtime.sequence;
  const now = Date.now();
  runtime.lastSweepAt = now;
  const queued: Job[] = [];
  const running: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = await runtime.records.list({
      filter: (job) => job.status === 'queued' || job.status === 'running',
      limit: 1000,
      cursor,
    });
    for (const job of page.items) {
      (job.status === 'queued' ? queued : running).push(job);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined && !runtime.closed);
  if (runtime.closed) {
    return;
  }
  const queuedIds = new Set(queued.map((job) => job.id));
  for (const [id, entry] of runtime.pending) {
    // Entries added since the listing began may be missing from it.
    if (entry.sequence < firstUnseen && !queuedIds.has(id)) {
      runtime.pending.delete(id);
    }
  }
  for (const job of queued) {
    const entry = runtime.pending.get(job.id);
    if (!runtime.active.has(job.id) && (entry === undefined || entry.notBefore !== (job.notBefore ?? 0))) {
      enqueue(runtime, job);
    }
  }
  if (runtime.recoverLapsed) {
    runtime.lapsedByKind.clear();
    const recoverable = new Map<string, Job[]>();
    for (const job of running) {
      if (!isLapsed(runtime, job, now)) {
        continue;
      }
      const target = runtime.kinds.has(job.kind) ? recoverable : runtime.lapsedByKind;
      target.set(job.kind, [...(target.get(job.kind) ?? []), job]);
    }
    for (const [kind, jobs] of recoverable) {
      await recoverLapsedJobs(runtime, kind, jobs);
    }
  }
  runtime.dispatch();
}

/** Runs a sweep now, or once more after the one in progress. */
export function requestSweep(runtime: JobQueueRuntime): void {
  if (runtime.closed || !runtime.started) {
    return;
  }
  if (runtime.sweeping !== undefined) {
    runtime.sweepAgain = true;
    return;
  }
  runtime.sweeping = track(
    runtime,
    (async () => {
      try {
        do {
          runtime.sweepAgain = false;
          try {
            await sweepJobs(runtime);
          } catch (error) {
            runtime.lastSweepAt = 0;
            if (!runtime.closed) {
              runtime.logger.error({ err: error }, 'Listing queued and running jobs failed');
            }
          }
        } while (runtime.sweepAgain && !runtime.closed);
      } finally {
        runtime.sweeping = undefined;
      }
    })(),
  );
}

/** Reads the queue revision; sweeps when it changed or when the last sweep is a lease old. */
export function pollJobQueue(runtime: JobQueueRuntime): void {
  if (runtime.polling || runtime.closed) {
    return;
  }
  runtime.polling = true;
  track(
    runtime,
    (async () => {
      try {
        const revision = await runtime.revisions.read();
        if (revision !== runtime.lastRevision || Date.now() - runtime.lastSweepAt >= runtime.leaseMs) {
          runtime.lastRevision = revision;
          requestSweep(runtime);
        }
      } catch (error) {
        if (!runtime.closed) {
          runtime.logger.warn({ err: error }, 'Polling the job queue failed');
        }
      } finally {
        runtime.polling = false;
      }
    })(),
  );
}
