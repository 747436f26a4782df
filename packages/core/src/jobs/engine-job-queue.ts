import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '../errors/error-codes.js';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import { createSilentLogger, type Logger } from '../logger/logger.js';
import { type Job, JobSchema } from '../schemas/job.js';
import type { Collection, Storage } from '../storage/collection.js';
import { JOBS_COLLECTION } from './in-process-job-queue.js';
import type {
  JobContext,
  JobHandler,
  JobKindOptions,
  JobListQuery,
  JobQueue,
  SubmitOptions,
} from './job-queue.js';
import { listJobRecords, withLiveProgress } from './job-record-queries.js';
import type { DeliveryOutcome, EngineEvent, QueueDelivery, QueueEngine } from './queue-engine.js';

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

type RunOutcome =
  | { type: 'succeeded'; output: unknown }
  | { type: 'failed'; error: unknown }
  | { type: 'timeout' }
  | { type: 'closing' }
  | { type: 'lost'; current: Job };

interface LocalRun {
  job: Job;
  controller: AbortController;
  settle(outcome: RunOutcome): void;
}

interface RegisteredKind {
  handler: JobHandler<unknown, unknown>;
  options: JobKindOptions;
}

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'cancelled']);

/** Thrown by an updater to leave the record as it is; carries the record it saw. */
class Unchanged {
  constructor(readonly current: Job) {}
}

function describeError(error: unknown): { code: string; message: string } {
  if (TunekitError.isInstance(error)) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'INTERNAL', message: error.message };
  return { code: 'INTERNAL', message: String(error) };
}

const isRetryable = (error: unknown) =>
  !(TunekitError.isInstance(error) && error.details.retryable === false);

const hasCode = (error: unknown, code: ErrorCode) => TunekitError.isInstance(error) && error.code === code;

/** A counting semaphore: the process-wide concurrency limit across kinds. */
function createSlots(limit: number) {
  let used = 0;
  const waiting: Array<() => void> = [];
  return {
    acquire(): Promise<void> {
      if (used < limit) {
        used += 1;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else used -= 1;
    },
  };
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
 * gives their jobs back to the engine without counting an attempt.
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
  const { engine, events } = options;
  const logger = options.logger ?? createSilentLogger();
  const work = options.work !== false;
  const kindFilter = options.kinds === undefined ? undefined : new Set(options.kinds);
  const concurrency = options.concurrency ?? 2;
  const progressInterval = options.progressPersistIntervalMs ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const shutdownGraceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const runnerId = options.runnerId ?? randomUUID();
  const records: Collection<Job> = options.storage.collection(JOBS_COLLECTION, JobSchema, {
    indexes: ['status', 'kind', 'createdAt'],
  });
  const kinds = new Map<string, RegisteredKind>();
  const local = new Map<string, LocalRun>();
  const slots = createSlots(concurrency);
  const unfollows: Array<() => void> = [];
  const finishedListeners = new Set<(jobId: string) => void>();
  const waiters = new Set<(error: unknown) => void>();
  let started = false;
  let closed = false;

  const assertOpen = () => {
    if (closed) throw tunekitError('KIT_CLOSED', 'The job queue is closed');
  };

  /** `records.update`, retried when a concurrent write wins the compare-and-set. */
  const updateRecord = async (id: string, updater: (current: Job) => Job): Promise<Job> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await records.update(id, updater);
      } catch (error) {
        if (!hasCode(error, 'CONFLICT') || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 5 * attempt)));
      }
    }
  };

  /** Updates a job this process holds; {@link Unchanged} when it is no longer this run's. */
  const writeHeld = async (run: LocalRun, change: (current: Job) => Job): Promise<Job | Unchanged> => {
    try {
      return await updateRecord(run.job.id, (current) => {
        if (
          current.status !== 'running' ||
          current.runnerId !== runnerId ||
          current.attempt !== run.job.attempt
        ) {
          throw new Unchanged(current);
        }
        return change(current);
      });
    } catch (error) {
      if (error instanceof Unchanged) return error;
      if (hasCode(error, 'NOT_FOUND')) return new Unchanged({ ...run.job, status: 'cancelled' });
      throw error;
    }
  };

  const onEngineEvent = (event: EngineEvent) => {
    if (event.type === 'finished') {
      for (const listener of finishedListeners) listener(event.jobId);
      return;
    }
    if (local.has(event.jobId)) return; // emitted here already
    events.emit('job:progress', {
      jobId: event.jobId,
      kind: event.kind,
      progress: event.progress,
      message: event.message,
      metrics: event.metrics,
    });
  };

  const runsHere = (kind: string, kindOptions: JobKindOptions) =>
    work && kindOptions.concurrency !== 0 && (kindFilter === undefined || kindFilter.has(kind));

  const attach = async (kind: string, registered: RegisteredKind) => {
    unfollows.push(await engine.follow(kind, onEngineEvent));
    if (runsHere(kind, registered.options)) {
      await engine.work(
        kind,
        { concurrency: Math.min(concurrency, registered.options.concurrency ?? concurrency) },
        (delivery) => processDelivery(delivery, registered),
      );
    }
  };

  /** Claims the record for this delivery: `running`, next attempt, this runner. */
  async function claim(delivery: QueueDelivery): Promise<Job | undefined> {
    try {
      return await updateRecord(delivery.jobId, (current) => {
        // `running` here means the engine redelivered it: its previous worker died or stalled.
        if (current.status !== 'queued' && current.status !== 'running') throw new Unchanged(current);
        return {
          ...current,
          status: 'running',
          attempt: current.attempt + 1,
          startedAt: new Date().toISOString(),
          notBefore: undefined,
          runnerId,
          leaseExpiresAt: undefined,
          runnerProcess: undefined,
        };
      });
    } catch (error) {
      if (error instanceof Unchanged || hasCode(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
  }

  async function processDelivery(delivery: QueueDelivery, kind: RegisteredKind): Promise<DeliveryOutcome> {
    await slots.acquire();
    try {
      if (closed) return { type: 'release' };
      const previous = await records.get(delivery.jobId);
      const job = await claim(delivery);
      if (job === undefined) return { type: 'done' };
      if (previous?.status === 'running') {
        logger.warn(
          { jobId: job.id, kind: job.kind, previousRunner: previous.runnerId, attempt: job.attempt },
          'Took over a job whose worker stopped (the engine redelivered it)',
        );
      }
      return await execute(job, kind, delivery);
    } finally {
      slots.release();
    }
  }

  async function execute(
    claimed: Job,
    kind: RegisteredKind,
    delivery: QueueDelivery,
  ): Promise<DeliveryOutcome> {
    const id = claimed.id;
    const startedAt = Date.now();
    let settled = false;
    let settleOutcome: (outcome: RunOutcome) => void = () => {};
    const outcome = new Promise<RunOutcome>((resolve) => {
      settleOutcome = resolve;
    });
    const run: LocalRun = {
      job: claimed,
      controller: new AbortController(),
      settle(value) {
        if (!settled) {
          settled = true;
          settleOutcome(value);
        }
      },
    };
    local.set(id, run);
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
          if (
            current === undefined ||
            current.status !== 'running' ||
            current.runnerId !== runnerId ||
            current.attempt !== run.job.attempt
          ) {
            run.settle({ type: 'lost', current: current ?? { ...run.job, status: 'cancelled' } });
          }
        },
        (error: unknown) => logger.warn({ err: error, jobId: id }, 'Reading a running job failed'),
      );
    }, pollIntervalMs);
    const persistProgress = () => {
      progressTimer = undefined;
      if (settled || writingProgress) return;
      writingProgress = true;
      lastProgressWrite = Date.now();
      const { progress, progressMessage, metrics } = run.job;
      void writeHeld(run, (current) => ({ ...current, progress, progressMessage, metrics }))
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
        events.emit('job:progress', {
          jobId: id,
          kind: claimed.kind,
          progress,
          message: update?.message,
          metrics: update?.metrics,
        });
        void delivery
          .publishProgress({
            jobId: id,
            kind: claimed.kind,
            progress,
            message: update?.message,
            metrics: update?.metrics,
          })
          .catch((error: unknown) => logger.debug({ err: error, jobId: id }, 'Publishing progress failed'));
        const wait = lastProgressWrite + progressInterval - Date.now();
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
      if (result.type === 'timeout') {
        run.controller.abort(
          tunekitError('JOB_TIMEOUT', `Job ${id} exceeded its timeout of ${timeoutMs} ms`, {
            jobId: id,
            timeoutMs,
          }),
        );
      } else if (result.type === 'closing') {
        run.controller.abort(tunekitError('KIT_CLOSED', 'The worker is shutting down', { jobId: id }));
      } else if (result.type === 'lost') {
        run.controller.abort(
          result.current.status === 'cancelled'
            ? tunekitError('JOB_CANCELLED', `Job ${id} was cancelled`, { jobId: id })
            : tunekitError(
                'JOB_LEASE_LOST',
                `Job ${id} was taken over by runner ${result.current.runnerId}`,
                {
                  jobId: id,
                  holder: result.current.runnerId,
                },
              ),
        );
      }
      if (result.type !== 'succeeded' && result.type !== 'failed') {
        // Let the handler stop at its next step (a training checkpoints it) before the job moves on.
        let graceTimer: NodeJS.Timeout | undefined;
        await Promise.race([
          handlerDone,
          new Promise((resolve) => {
            graceTimer = setTimeout(resolve, shutdownGraceMs);
          }),
        ]);
        clearTimeout(graceTimer);
      }
      const progressFields = {
        progress: run.job.progress,
        progressMessage: run.job.progressMessage,
        metrics: run.job.metrics,
      };
      if (result.type === 'lost') {
        logger.info(
          { jobId: id, status: result.current.status },
          'A running job was cancelled or taken over',
        );
        return { type: 'done' };
      }
      if (result.type === 'closing') {
        const released = await writeHeld(run, (current) => ({
          ...current,
          ...progressFields,
          status: 'queued',
        }));
        return released instanceof Unchanged ? { type: 'done' } : { type: 'release' };
      }
      if (result.type === 'succeeded') {
        const written = await writeHeld(run, (current) => ({
          ...current,
          ...progressFields,
          status: 'succeeded',
          output: result.output,
          progress: 1,
          error: undefined,
          finishedAt: new Date().toISOString(),
        }));
        if (!(written instanceof Unchanged)) {
          events.emit('job:succeeded', { jobId: id, kind: claimed.kind, durationMs, output: result.output });
        }
        return { type: 'done' };
      }
      const error =
        result.type === 'timeout'
          ? tunekitError('JOB_TIMEOUT', `Job ${id} exceeded its timeout of ${timeoutMs} ms`)
          : result.error;
      const described = describeError(error);
      if (claimed.attempt < claimed.maxAttempts && isRetryable(error)) {
        const delayMs = claimed.backoffMs * 2 ** (claimed.attempt - 1);
        const written = await writeHeld(run, (current) => ({
          ...current,
          ...progressFields,
          status: 'queued',
          error: described,
          notBefore: Date.now() + delayMs,
        }));
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
      const written = await writeHeld(run, (current) => ({
        ...current,
        ...progressFields,
        status: 'failed',
        error: described,
        finishedAt: new Date().toISOString(),
      }));
      if (written instanceof Unchanged) return { type: 'done' };
      events.emit('job:failed', {
        jobId: id,
        kind: claimed.kind,
        durationMs,
        error: described.message,
        code: described.code,
      });
      return { type: 'failed', reason: described.message };
    } finally {
      clearTimeout(timeoutTimer);
      clearInterval(watchTimer);
      clearTimeout(progressTimer);
      local.delete(id);
    }
  }

  const queue: EngineJobQueue = {
    runnerId,
    engine: engine.name,
    get runningCount() {
      return local.size;
    },
    get runningJobIds() {
      return [...local.keys()];
    },

    async start() {
      if (started) return;
      await engine.start();
      started = true;
      for (const [kind, registered] of kinds) await attach(kind, registered);
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
      if (started) {
        const attachWithRetries = async () => {
          for (let attempt = 1; ; attempt += 1) {
            try {
              return await attach(kind, registered);
            } catch (error) {
              if (closed || attempt >= 5) throw error;
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
          kind,
          priority: job.priority,
          maxAttempts: job.maxAttempts,
          backoffMs: job.backoffMs,
        });
      } catch (error) {
        const failed = await records.set({
          ...job,
          status: 'failed',
          error: describeError(error),
          finishedAt: new Date().toISOString(),
        });
        throw tunekitError(
          'JOB_ENGINE_FAILED',
          `Queueing job ${job.id} on ${engine.name} failed: ${describeError(error).message}`,
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
        updated = await updateRecord(id, (latest) => {
          if (FINAL_STATUSES.has(latest.status)) throw new Unchanged(latest);
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
      await engine.remove({ id, kind: updated.kind }).catch((error: unknown) => {
        logger.debug({ err: error, jobId: id }, 'Removing a cancelled job from the engine failed');
      });
      events.emit('job:cancelled', { jobId: id, kind: updated.kind });
      return updated;
    },

    async resume(id) {
      assertOpen();
      const job = await records.get(id);
      if (job === undefined) throw tunekitError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
      // The engine re-delivers the jobs of a worker that died by itself; a cancelled or failed job
      // keeps its engine id (BullMQ and pg-boss ignore a second job with the same id), so it is not
      // re-queued here.
      throw tunekitError(
        'JOB_NOT_RESUMABLE',
        `Job ${id} is ${job.status}: ${engine.name} re-runs interrupted jobs itself and cannot re-queue a finished one`,
        { jobId: id, status: job.status, engine: engine.name },
      );
    },

    wait(id, waitOptions = {}) {
      return new Promise<Job>((resolve, reject) => {
        let done = false;
        const cleanups: Array<() => void> = [];
        const stop = () => {
          done = true;
          for (const cleanup of cleanups) cleanup();
        };
        const fail = (error: unknown) => {
          if (!done) {
            stop();
            reject(error);
          }
        };
        waiters.add(fail);
        cleanups.push(() => waiters.delete(fail));
        const check = async () => {
          try {
            const job = await records.get(id);
            if (done) return;
            if (job === undefined) fail(tunekitError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id }));
            else if (FINAL_STATUSES.has(job.status)) {
              stop();
              resolve(job);
            }
          } catch (error) {
            fail(error);
          }
        };
        const onFinal = (jobId: string) => {
          if (jobId === id) void check();
        };
        finishedListeners.add(onFinal);
        cleanups.push(() => finishedListeners.delete(onFinal));
        for (const name of ['job:succeeded', 'job:failed', 'job:cancelled'] as const) {
          cleanups.push(events.on(name, (payload) => onFinal(payload.jobId)));
        }
        const poll = setInterval(() => void check(), pollIntervalMs);
        poll.unref?.();
        cleanups.push(() => clearInterval(poll));
        if (waitOptions.timeoutMs !== undefined) {
          const timer = setTimeout(
            () =>
              fail(
                tunekitError(
                  'JOB_TIMEOUT',
                  `Timed out after ${waitOptions.timeoutMs} ms waiting for job ${id}`,
                  {
                    jobId: id,
                  },
                ),
              ),
            waitOptions.timeoutMs,
          );
          cleanups.push(() => clearTimeout(timer));
        }
        const signal = waitOptions.signal;
        if (signal !== undefined) {
          if (signal.aborted) {
            fail(signal.reason);
            return;
          }
          const onAbort = () => fail(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          cleanups.push(() => signal.removeEventListener('abort', onAbort));
        }
        void check();
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const run of local.values()) run.settle({ type: 'closing' });
      try {
        await engine.stopWorking();
      } finally {
        for (const unfollow of unfollows.splice(0)) unfollow();
        await engine.close();
        for (const fail of [...waiters])
          fail(tunekitError('KIT_CLOSED', 'The job queue closed before the job finished'));
      }
    },
  };
  return queue;
}
