import { randomUUID } from 'node:crypto';
import { tunekitError } from '../errors/tunekit-error.js';
import type { Job } from '../schemas/job.js';
import type { EngineQueueRuntime } from './engine-queue-runtime.js';
import { Unchanged, updateRecord } from './job-queue-runtime.js';
import { describeJobError } from './job-retry-policy.js';
import { writeResumedJobRecord } from './resumed-job-record.js';

/**
 * Resumes a `cancelled` or `failed` job on a queue engine: the record goes back to `queued` with one
 * more attempt allowed, and a **new engine job** (a fresh engine id, kept in the record's
 * `engineJobId`) is queued for it, since BullMQ and pg-boss keep a finished job's id and ignore a
 * second job with it. The next delivery claims the record as attempt + 1, so a resumable handler
 * (the trainer) continues from its last checkpoint in the shared artifact store; a delivery of the
 * earlier engine job runs nothing. A `running` job is not resumed: the engine redelivers the job of a
 * worker that stopped by itself.
 *
 * @throws `JOB_NOT_FOUND`; `JOB_NOT_RESUMABLE` for a queued, running or succeeded job;
 * `JOB_ENGINE_FAILED` when the engine refused the new engine job (the record is then `failed` again).
 */
export async function resumeEngineJob(runtime: EngineQueueRuntime, id: string): Promise<Job> {
  const { engine, events, logger } = runtime;
  const engineJobId = randomUUID();
  const updated = await writeResumedJobRecord(runtime, id, {
    resumable: (current) => current.status === 'cancelled' || current.status === 'failed',
    fields: { engineJobId },
    running: `${engine.name} gives the job of a worker that stopped to another worker by itself`,
    resumes: 'a cancelled or failed job',
    details: { engine: engine.name },
  });
  try {
    await engine.enqueue({
      id,
      engineJobId,
      kind: updated.kind,
      priority: updated.priority,
      // The engine's retries of this run: the attempts the record has left.
      maxAttempts: Math.max(1, updated.maxAttempts - updated.attempt),
      backoffMs: updated.backoffMs,
    });
  } catch (error) {
    const described = describeJobError(error);
    await updateRecord(runtime, id, (current) => {
      if (current.status !== 'queued' || current.engineJobId !== engineJobId) throw new Unchanged(current);
      return { ...current, status: 'failed', error: described, finishedAt: new Date().toISOString() };
    }).catch((reverting: unknown) => {
      if (!(reverting instanceof Unchanged)) {
        logger.warn({ err: reverting, jobId: id }, 'Marking a job whose resume failed as failed failed');
      }
    });
    throw tunekitError(
      'JOB_ENGINE_FAILED',
      `Queueing job ${id} again on ${engine.name} failed: ${described.message}`,
      { jobId: id },
      { cause: error },
    );
  }
  logger.info({ jobId: id, kind: updated.kind, attempt: updated.attempt, engineJobId }, 'Resuming a job');
  events.emit('job:queued', { jobId: id, kind: updated.kind, owner: updated.owner });
  return updated;
}
