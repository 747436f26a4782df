import type { Job } from '../schemas/job.js';
import type { EngineQueueRuntime } from './engine-queue-runtime.js';
import { executeEngineRun } from './execute-engine-run.js';
import { hasCode, type RegisteredKind, Unchanged, updateRecord } from './job-queue-runtime.js';
import type { DeliveryOutcome, QueueDelivery } from './queue-engine.js';

/**
 * Claims the record of a delivered job for this process: `running`, the next attempt, this
 * runner, as one compare-and-set. A `running` record means the engine redelivered the job (its
 * previous worker died or stalled) and is taken over. Returns undefined when the job is over
 * (finished, cancelled or deleted) or the delivery is a stale engine job of the record (not its
 * current run, see `engineJobId`): the delivery then has nothing to run.
 */
export async function claimEngineDelivery(
  runtime: EngineQueueRuntime,
  delivery: QueueDelivery,
): Promise<Job | undefined> {
  try {
    return await updateRecord(runtime, delivery.jobId, (current) => {
      // `running` here means the engine redelivered it: its previous worker died or stalled.
      if (current.status !== 'queued' && current.status !== 'running') throw new Unchanged(current);
      // An engine job of an earlier run (before a resume queued a new one) runs nothing.
      if ((current.engineJobId ?? current.id) !== delivery.engineJobId) throw new Unchanged(current);
      return {
        ...current,
        status: 'running',
        attempt: current.attempt + 1,
        startedAt: new Date().toISOString(),
        notBefore: undefined,
        runnerId: runtime.runnerId,
        leaseExpiresAt: undefined,
        runnerProcess: undefined,
      };
    });
  } catch (error) {
    if (error instanceof Unchanged || hasCode(error, 'NOT_FOUND')) return undefined;
    throw error;
  }
}

/**
 * Handles one delivery from the engine: waits for a free slot of this process, claims the job and
 * runs it ({@link executeEngineRun}). A delivery that arrives while the queue closes is released to
 * the engine untouched; one whose job is already over is acknowledged as `done`. When an earlier run
 * of the same job is still stopping here (cancelled, then resumed), the delivery waits for it first:
 * its handler may still be saving the checkpoint the new run resumes from.
 */
export async function processEngineDelivery(
  runtime: EngineQueueRuntime,
  delivery: QueueDelivery,
  kind: RegisteredKind,
): Promise<DeliveryOutcome> {
  await runtime.slots.acquire();
  try {
    if (runtime.closed) return { type: 'release' };
    await runtime.local.get(delivery.jobId)?.done;
    if (runtime.closed) return { type: 'release' };
    const previous = await runtime.records.get(delivery.jobId);
    const job = await claimEngineDelivery(runtime, delivery);
    if (job === undefined) return { type: 'done' };
    if (previous?.status === 'running') {
      runtime.logger.warn(
        { jobId: job.id, kind: job.kind, previousRunner: previous.runnerId, attempt: job.attempt },
        'Took over a job whose worker stopped (the engine redelivered it)',
      );
    }
    return await executeEngineRun(runtime, job, kind, delivery);
  } finally {
    runtime.slots.release();
  }
}
