import { randomUUID } from 'node:crypto';
import { tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import { createSilentLogger, type Logger } from '../logger/logger.js';
import { type Job, JobSchema } from '../schemas/job.js';
import type { Storage } from '../storage/collection.js';
import { attachEngineKind } from './attach-engine-kind.js';
import type { EngineQueueRuntime } from './engine-queue-runtime.js';
import { JOBS_COLLECTION } from './in-process-job-queue.js';
import type { JobHandler, JobKindOptions, JobListQuery, JobQueue, SubmitOptions } from './job-queue.js';
import { FINAL_JOB_STATUSES, hasCode, Unchanged, updateRecord } from './job-queue-runtime.js';
import { listJobRecords, withLiveProgress } from './job-record-queries.js';
import { describeJobError } from './job-retry-policy.js';
import { createJobSlots } from './job-slots.js';
import type { QueueEngine } from './queue-engine.js';
import { resumeEngineJob } from './resume-engine-job.js';
import { waitForJob } from './wait-for-job.js';

/** Default of {@link EngineJobQueueOptions.shutdownGraceMs}: 30 seconds. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;

/** Options of {@link createEngineJobQueue}. */
export interface EngineJobQueueOptions {
  /** Where job records live (collection `jobs`), shared by every process of the deployment. */
  storage: Storage;
  /** Where `job:*` events are emitted. */
  events: EventBus;
  /** The engine that queues and delivers jobs (BullMQ, pg-boss). Closed by `close()`. */
  engine: QueueEngine;
  logger?: Logger;
  /**
   * Whether this process runs jobs (default true). `false` for processes that only submit, follow
   * and cancel jobs (an API in front of `tunekit worker` processes).
   */
  work?: boolean;
  /** Only these kinds run in this process (default: every registered kind). */
  kinds?: string[];
  /** Most jobs this process runs at once across all kinds (default 2); kinds may set a lower limit. */
  concurrency?: number;
  /** Minimum milliseconds between two progress writes of one job (default 1000); events are not throttled. */
  progressPersistIntervalMs?: number;
  /**
   * How often a running job's record is re-read, so that a cancel from another process stops it, and
   * how often `wait` re-reads the record besides listening to events (default 1000 ms).
   */
  pollIntervalMs?: number;
  /**
   * How long `close()` waits for an aborted handler to return (a training checkpoints its current
   * step) before the job is released to the queue anyway (default {@link DEFAULT_SHUTDOWN_GRACE_MS}).
   */
  shutdownGraceMs?: number;
  /** Identifies this process in job records (`runnerId`); default a random UUID. */
  runnerId?: string;
}

/** A {@link JobQueue} whose jobs an engine (BullMQ, pg-boss) delivers to worker processes. */
export interface EngineJobQueue extends JobQueue {
  /** This process's id, written as `runnerId` into the jobs it runs. */
  readonly runnerId: string;
  /** The engine's name (`bullmq`, `pg-boss`). */
  readonly engine: string;
  /** Connects the engine and starts taking jobs of the kinds registered so far. Call once. */
  start(): Promise<void>;
  /** How many jobs run in this process now. */
  readonly runningCount: number;
  /** The ids of the jobs that run in this process now (a worker's health endpoint shows them). */
  readonly runningJobIds: string[];
}

/**
 * Creates a job queue on an existing engine: BullMQ on Redis ({@link createBullmqEngine}) or pg-boss
 * on PostgreSQL ({@link createPgBossEngine}). The engine queues the jobs, hands each to one worker
 * process at a time, recovers the jobs of a worker that died (BullMQ's stalled-job check, pg-boss's
 * expiry) and retries failed attempts with exponential backoff; Tunekit keeps the job record (input,
 * status, progress, output, error) in its own store, so `get`, `list`, the registry, audit and the
 * UI read the same records whatever runs the jobs.
 *
 * Each delivery claims the record (`running`, `attempt + 1`, this process's `runnerId`); every
 * later write is a compare-and-set on that claim, so a run whose job was cancelled or redelivered to
 * another process writes nothing and is aborted: each job ends once. A redelivered job (its worker
 * died) starts with `attempt > 1`, and a resumable handler (the trainer) continues from its last
 * checkpoint. `cancel` marks the record `cancelled` at once; the process running it notices at its
 * next record read (`pollIntervalMs`) and aborts the handler's signal. `close` aborts running
 * handlers, waits up to `shutdownGraceMs` for them to return (a training checkpoints its step) and
 * gives their jobs back to the engine without counting an attempt. `resume` re-queues a cancelled or
 * failed job as a new engine job ({@link resumeEngineJob}); its next attempt continues from the
 * last checkpoint.
 *
 * Events: `job:queued` where the job was submitted; `job:started`, `job:progress`, `job:retrying`,
 * `job:succeeded`, `job:failed` where it runs; `job:cancelled` where it was cancelled; and in every
 * process that registered the kind, `job:progress` of jobs that run elsewhere (relayed by the engine),
 * so a Server-Sent Events stream on an API process follows a job on a worker.
 *
 * @throws `VALIDATION_FAILED` when a numeric option is not positive.
 */
export function createEngineJobQueue(options: EngineJobQueueOptions): EngineJobQueue {
  for (const name of ['concurrency', 'pollIntervalMs', 'shutdownGraceMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw tunekitError('VALIDATION_FAILED', `Job queue option ${name} must be a positive number`, {
        [name]: value,
      });
    }
  }
  const concurrency = options.concurrency ?? 2;
  const runtime: EngineQueueRuntime = {
    engine: options.engine,
    events: options.events,
    logger: options.logger ?? createSilentLogger(),
    runnerId: options.runnerId ?? randomUUID(),
    records: options.storage.collection(JOBS_COLLECTION, JobSchema, {
      indexes: ['status', 'kind', 'createdAt'],
    }),
    work: options.work !== false,
    kindFilter: options.kinds === undefined ? undefined : new Set(options.kinds),
    concurrency,
    progressInterval: options.progressPersistIntervalMs ?? 1000,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    shutdownGraceMs: options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    kinds: new Map(),
    local: new Map(),
    slots: createJobSlots(concurrency),
    unfollows: [],
    finishedListeners: new Set(),
    waiters: new Set(),
    started: false,
    closed: false,
  };
  const { engine, events, logger, records, kinds, local } = runtime;

  const assertOpen = () => {
    if (runtime.closed) throw tunekitError('KIT_CLOSED', 'The job queue is closed');
  };

  const queue: EngineJobQueue = {
    runnerId: runtime.runnerId,
    engine: engine.name,
    get runningCount() {
      return local.size;
    },
    get runningJobIds() {
      return [...local.keys()];
    },

    async start() {
      if (runtime.started) return;
      await engine.start();
      runtime.started = true;
      for (const [kind, registered] of kinds) await attachEngineKind(runtime, kind, registered);
    },

    register<Input, Output>(
      kind: string,
      handler: JobHandler<Input, Output>,
      kindOptions: JobKindOptions = {},
    ) {
      assertOpen();
      if (typeof kind !== 'string' || kind.length === 0 || typeof handler !== 'function') {
        throw tunekitError('VALIDATION_FAILED', 'A job kind needs a non-empty name and a handler function', {
          kind,
        });
      }
      if (kinds.has(kind)) {
        throw tunekitError('CONFLICT', `A handler for job kind "${kind}" is already registered`, { kind });
      }
      const registered = { handler: handler as JobHandler<unknown, unknown>, options: kindOptions };
      kinds.set(kind, registered);
      if (runtime.started) {
        const attachWithRetries = async () => {
          for (let attempt = 1; ; attempt += 1) {
            try {
              return await attachEngineKind(runtime, kind, registered);
            } catch (error) {
              if (runtime.closed || attempt >= 5) throw error;
              logger.warn({ err: error, kind, attempt }, 'Starting to take jobs of a kind failed; retrying');
              await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
            }
          }
        };
        attachWithRetries().catch((error: unknown) =>
          logger.error({ err: error, kind }, 'Starting to take jobs of a kind failed'),
        );
      }
    },

    async submit<Input>(kind: string, input: Input, submitOptions: SubmitOptions = {}) {
      assertOpen();
      const registered = kinds.get(kind);
      if (registered === undefined) {
        throw tunekitError('JOB_UNKNOWN_KIND', `No handler is registered for job kind "${kind}"`, {
          kind,
          registered: [...kinds.keys()],
        });
      }
      const job = await records.set(
        JobSchema.parse({
          id: randomUUID(),
          kind,
          status: 'queued',
          input,
          owner: submitOptions.owner,
          priority: submitOptions.priority ?? 0,
          attempt: 0,
          maxAttempts: submitOptions.maxAttempts ?? registered.options.maxAttempts ?? 1,
          timeoutMs: submitOptions.timeoutMs ?? registered.options.timeoutMs,
          backoffMs: submitOptions.backoffMs ?? 1000,
          progress: 0,
          metrics: {},
          createdAt: new Date().toISOString(),
          version: 0,
        }),
      );
      try {
        await engine.enqueue({
          id: job.id,
          engineJobId: job.id,
          kind,
          priority: job.priority,
          maxAttempts: job.maxAttempts,
          backoffMs: job.backoffMs,
        });
      } catch (error) {
        const failed = await records.set({
          ...job,
          status: 'failed',
          error: describeJobError(error),
          finishedAt: new Date().toISOString(),
        });
        throw tunekitError(
          'JOB_ENGINE_FAILED',
          `Queueing job ${job.id} on ${engine.name} failed: ${describeJobError(error).message}`,
          { jobId: failed.id },
          { cause: error },
        );
      }
      events.emit('job:queued', { jobId: job.id, kind, owner: job.owner });
      return job;
    },

    async get(id) {
      return withLiveProgress(await records.get(id), local.get(id));
    },

    list(query: JobListQuery = {}) {
      return listJobRecords(records, query);
    },

    async cancel(id, reason = 'cancelled by request') {
      let updated: Job;
      try {
        updated = await updateRecord(runtime, id, (latest) => {
          if (FINAL_JOB_STATUSES.has(latest.status)) throw new Unchanged(latest);
          return {
            ...latest,
            status: 'cancelled',
            error: { code: 'JOB_CANCELLED', message: reason },
            finishedAt: new Date().toISOString(),
          };
        });
      } catch (error) {
        if (hasCode(error, 'NOT_FOUND'))
          throw tunekitError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
        if (error instanceof Unchanged) {
          throw tunekitError('JOB_NOT_CANCELLABLE', `Job ${id} already ${error.current.status}`, {
            jobId: id,
            status: error.current.status,
          });
        }
        throw error;
      }
      // Running here: stop now. Running elsewhere: that process sees the record at its next read.
      local.get(id)?.settle({ type: 'lost', current: updated });
      await engine
        .remove({ engineJobId: updated.engineJobId ?? id, kind: updated.kind })
        .catch((error: unknown) => {
          logger.debug({ err: error, jobId: id }, 'Removing a cancelled job from the engine failed');
        });
      events.emit('job:cancelled', { jobId: id, kind: updated.kind });
      return updated;
    },

    async resume(id) {
      assertOpen();
      return resumeEngineJob(runtime, id);
    },

    wait(id, waitOptions = {}) {
      return waitForJob(
        {
          records,
          events,
          pollIntervalMs: runtime.pollIntervalMs,
          waiters: runtime.waiters,
          followFinished: (listener) => {
            runtime.finishedListeners.add(listener);
            return () => runtime.finishedListeners.delete(listener);
          },
        },
        id,
        waitOptions,
      );
    },

    async close() {
      if (runtime.closed) return;
      runtime.closed = true;
      for (const run of local.values()) run.settle({ type: 'closing' });
      try {
        await engine.stopWorking();
      } finally {
        for (const unfollow of runtime.unfollows.splice(0)) unfollow();
        await engine.close();
        for (const fail of [...runtime.waiters])
          fail(tunekitError('KIT_CLOSED', 'The job queue closed before the job finished'));
      }
    },
  };
  return queue;
}
