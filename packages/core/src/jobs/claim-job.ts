import type { Job } from '../schemas/job.js';
import {
  type ActiveRun,
  enqueue,
  hasCode,
  type JobQueueRuntime,
  track,
  Unchanged,
  writeHeld,
} from './job-queue-runtime.js';

/**
 * Claims a queued job with one compare-and-set update: `running`, this runner's id and a fresh
 * lease. Returns the claimed record and the one before, or undefined when the job is not (or no
 * longer) claimable: another runner won the race, it was cancelled, or its retry is not due yet.
 */
export async function claimJob(
  runtime: JobQueueRuntime,
  run: ActiveRun,
): Promise<{ job: Job; before: Job } | undefined> {
  let before: Job | undefined;
  try {
    const job = await runtime.records.update(run.id, (current) => {
      const now = Date.now();
      if (current.status !== 'queued' || (current.notBefore ?? 0) > now) {
        throw new Unchanged(current);
      }
      before = current;
      return {
        ...current,
        status: 'running',
        attempt: current.attempt + 1,
        startedAt: new Date(now).toISOString(),
        notBefore: undefined,
        runnerId: runtime.runnerId,
        leaseExpiresAt: now + runtime.leaseMs,
        runnerProcess: runtime.runnerProcess,
      };
    });
    return { job, before: before as Job };
  } catch (error) {
    if (error instanceof Unchanged) {
      if (error.current.status === 'queued' && !runtime.closed) {
        // Re-queued by another runner with a later retry time.
        enqueue(runtime, error.current);
      } else {
        runtime.logger.debug({ jobId: run.id, status: error.current.status }, 'The job is no longer queued');
      }
    } else if (hasCode(error, 'CONFLICT')) {
      runtime.logger.debug({ jobId: run.id }, 'Another runner claimed the job first');
    } else if (!hasCode(error, 'NOT_FOUND') && !runtime.closed) {
      runtime.logger.error({ err: error, jobId: run.id }, 'Claiming a job failed');
      // Still queued in storage: the next poll lists it again.
      runtime.lastSweepAt = 0;
    }
    return undefined;
  }
}

/** Renews the lease of every job this runner runs; a job found taken aborts its handler. */
export function renewLeases(runtime: JobQueueRuntime): void {
  for (const run of runtime.held.values()) {
    if (run.renewing || run.isSettled()) {
      continue;
    }
    run.renewing = true;
    track(
      runtime,
      writeHeld(runtime, run, (current) => ({ ...current, leaseExpiresAt: Date.now() + runtime.leaseMs }))
        .then((written) => {
          if (written instanceof Unchanged) {
            run.settle({ type: 'lost', current: written.current });
          }
        })
        .finally(() => {
          run.renewing = false;
        }),
    );
  }
}
