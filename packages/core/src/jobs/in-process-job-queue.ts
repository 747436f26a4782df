import { randomUUID } from 'node:crypto';
import { type ErrorCode, ErrorCodes } from '../errors/error-codes.js';
import { TunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import { createSilentLogger, type Logger } from '../logger/logger.js';
import { type Job, JobSchema } from '../schemas/job.js';
import type { Collection, Storage } from '../storage/collection.js';
import type {
  JobContext,
  JobHandler,
  JobKindOptions,
  JobListQuery,
  JobQueue,
  SubmitOptions,
} from './job-queue.js';

/** Name of the storage collection that holds job records. */
export const JOBS_COLLECTION = 'jobs';

/** Options of {@link createInProcessJobQueue}. */
export interface InProcessJobQueueOptions {
  /** Where job records are persisted (collection {@link JOBS_COLLECTION}). */
  storage: Storage;
  /** Where `job:*` events are emitted. */
  events: EventBus;
  logger?: Logger;
  /** Most jobs running at once across all kinds (default 2). Kinds may set a lower limit. */
  concurrency?: number;
  /** Recover jobs a crash left `running` when {@link InProcessJobQueue.start} runs (default true). */
  recover?: boolean;
  /** Minimum milliseconds between two progress writes of one job (default 1000); events are not throttled. */
  progressPersistIntervalMs?: number;
  /** How often `wait` re-reads the record besides listening to events (default 1000 ms). */
  waitPollIntervalMs?: number;
}

/** The in-process queue: a {@link JobQueue} plus the start step that loads and recovers persisted jobs. */
export interface InProcessJobQueue extends JobQueue {
  /**
   * Loads queued jobs from storage and, unless `recover` is false, recovers the jobs a crash left
   * `running`: once their kind is registered, each is re-queued (kind option `requeueOnRecovery`)
   * or marked `failed` with `JOB_INTERRUPTED`. Call once, before submitting.
   */
  start(): Promise<void>;
}

interface RegisteredKind {
  handler: JobHandler<unknown, unknown>;
  options: JobKindOptions;
}

interface PendingEntry {
  id: string;
  kind: string;
  priority: number;
  createdAt: string;
  notBefore: number;
  sequence: number;
}

interface ActiveRun {
  job: Job;
  controller: AbortController;
  settle: (outcome: RunOutcome) => void;
  isSettled: () => boolean;
}

type RunOutcome =
  | { type: 'succeeded'; output: unknown }
  | { type: 'failed'; error: unknown }
  | { type: 'cancelled'; reason: string }
  | { type: 'timeout' }
  | { type: 'closing' };

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'cancelled']);

function codedError(code: ErrorCode, message: string, details?: Record<string, unknown>): TunekitError {
  return new TunekitError({ code, status: ErrorCodes[code].status, message, details });
}

function describeError(error: unknown): { code: string; message: string } {
  if (TunekitError.isInstance(error)) {
    return { code: error.code, message: error.message };
  }
  if (error instanceof Error) {
    return { code: 'INTERNAL', message: error.message };
  }
  return { code: 'INTERNAL', message: String(error) };
}

function isRetryable(error: unknown): boolean {
  return !(TunekitError.isInstance(error) && error.details.retryable === false);
}

/**
 * Creates the in-process job queue.
 *
 * Jobs run in this process with a global concurrency limit (and an optional per-kind one), highest
 * `priority` first, then oldest first. A failed attempt is retried while attempts remain, after
 * `backoffMs × 2^(attempt−1)` (a handler can opt out by throwing a `TunekitError` with
 * `details.retryable === false`). Cancellation and timeouts abort the handler's `signal`; the job is
 * finalized at once (`cancelled`, or `failed` with `JOB_TIMEOUT`) even if the handler ignores the
 * signal. Progress is emitted as `job:progress` on every call and persisted at most every
 * `progressPersistIntervalMs`.
 *
 * Every state change is written to the `jobs` collection of the kit's storage, so a new process on
 * the same storage sees the history and recovers jobs a crash left `running` (see
 * {@link InProcessJobQueue.start}). This queue assumes it is the only runner of its storage; a
 * distributed runner (BullMQ over Redis) can implement the same {@link JobQueue} interface and run
 * the same handlers on workers.
 *
 * @example
 * ```ts
 * const queue = createInProcessJobQueue({ storage, events, concurrency: 2 });
 * await queue.start();
 * queue.register('resize', async (input: { size: number }, { progress, signal }) => { … }, { maxAttempts: 3 });
 * const job = await queue.submit('resize', { size: 3 }, { owner: 'ada', priority: 5 });
 * const done = await queue.wait(job.id);
 * ```
 */
export function createInProcessJobQueue(options: InProcessJobQueueOptions): InProcessJobQueue {
  const logger = options.logger ?? createSilentLogger();
  const events = options.events;
  const concurrency = options.concurrency ?? 2;
  const progressInterval = options.progressPersistIntervalMs ?? 1000;
  const waitPollInterval = options.waitPollIntervalMs ?? 1000;
  const records: Collection<Job> = options.storage.collection(JOBS_COLLECTION, JobSchema);
  const kinds = new Map<string, RegisteredKind>();
  const pending = new Map<string, PendingEntry>();
  const active = new Map<string, ActiveRun>();
  const interruptedByKind = new Map<string, string[]>();
  const background = new Set<Promise<unknown>>();
  // Pending `wait` calls, rejected with KIT_CLOSED when the queue closes.
  const waiters = new Set<(error: unknown) => void>();
  let sequence = 0;
  let started = false;
  let closed = false;
  let wakeTimer: NodeJS.Timeout | undefined;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    background.add(promise);
    promise.then(
      () => background.delete(promise),
      () => background.delete(promise),
    );
    return promise;
  };

  const assertOpen = () => {
    if (closed) {
      throw codedError('KIT_CLOSED', 'The job queue is closed');
    }
  };

  const enqueue = (job: Job) => {
    pending.set(job.id, {
      id: job.id,
      kind: job.kind,
      priority: job.priority,
      createdAt: job.createdAt,
      notBefore: job.notBefore ?? 0,
      sequence: sequence++,
    });
  };

  const activeOfKind = (kind: string) => {
    let count = 0;
    for (const run of active.values()) {
      if (run.job.kind === kind) {
        count += 1;
      }
    }
    return count;
  };

  const pickNext = (now: number): PendingEntry | undefined => {
    let best: PendingEntry | undefined;
    for (const entry of pending.values()) {
      const kind = kinds.get(entry.kind);
      if (kind === undefined || entry.notBefore > now) {
        continue;
      }
      const kindLimit = kind.options.concurrency;
      if (kindLimit !== undefined && activeOfKind(entry.kind) >= kindLimit) {
        continue;
      }
      if (
        best === undefined ||
        entry.priority > best.priority ||
        (entry.priority === best.priority &&
          (entry.createdAt < best.createdAt ||
            (entry.createdAt === best.createdAt && entry.sequence < best.sequence)))
      ) {
        best = entry;
      }
    }
    return best;
  };

  const scheduleWake = (now: number) => {
    if (wakeTimer !== undefined) {
      clearTimeout(wakeTimer);
      wakeTimer = undefined;
    }
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of pending.values()) {
      if (entry.notBefore > now && kinds.has(entry.kind)) {
        earliest = Math.min(earliest, entry.notBefore);
      }
    }
    if (Number.isFinite(earliest)) {
      wakeTimer = setTimeout(dispatch, Math.max(0, earliest - now));
      wakeTimer.unref?.();
    }
  };

  function dispatch() {
    if (closed || !started) {
      return;
    }
    const now = Date.now();
    while (active.size < concurrency) {
      const next = pickNext(now);
      if (next === undefined) {
        break;
      }
      pending.delete(next.id);
      startRun(next);
    }
    scheduleWake(now);
  }

  const safeUpdate = async (id: string, updater: (current: Job) => Job): Promise<Job | undefined> => {
    try {
      return await records.update(id, updater);
    } catch (error) {
      if (!closed) {
        logger.error({ err: error, jobId: id }, 'Writing a job record failed');
      }
      return undefined;
    }
  };

  function startRun(entry: PendingEntry) {
    const id = entry.id;
    // Reserve the slot synchronously; the record is read and marked running asynchronously.
    const controller = new AbortController();
    let settleOutcome: (outcome: RunOutcome) => void = () => {};
    const outcome = new Promise<RunOutcome>((resolve) => {
      settleOutcome = resolve;
    });
    let settled = false;
    const run: ActiveRun = {
      job: { id, kind: entry.kind } as Job,
      controller,
      settle: (value) => {
        if (!settled) {
          settled = true;
          settleOutcome(value);
        }
      },
      isSettled: () => settled,
    };
    active.set(id, run);
    track(execute(run, outcome));
  }

  async function execute(run: ActiveRun, outcome: Promise<RunOutcome>) {
    const id = run.job.id;
    const startedAt = new Date();
    let job: Job | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let progressTimer: NodeJS.Timeout | undefined;
    let lastProgressWrite = 0;
    let pendingProgress: Pick<Job, 'progress' | 'progressMessage' | 'metrics'> | undefined;
    let finished = false;
    try {
      job = await safeUpdate(id, (current) => {
        if (current.status !== 'queued') {
          return current;
        }
        return {
          ...current,
          status: 'running',
          attempt: current.attempt + 1,
          startedAt: startedAt.toISOString(),
          notBefore: undefined,
        };
      });
      if (
        job === undefined ||
        job.status !== 'running' ||
        job.startedAt !== startedAt.toISOString() ||
        closed
      ) {
        return;
      }
      run.job = job;
      const kind = kinds.get(job.kind) as RegisteredKind;
      events.emit('job:started', { jobId: id, kind: job.kind, attempt: job.attempt });

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
          safeUpdate(id, (current) => (current.status === 'running' ? { ...current, ...update } : current)),
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
          events.emit('job:progress', {
            jobId: id,
            kind: current.kind,
            progress,
            message: update?.message,
            metrics: update?.metrics,
          });
          const wait = lastProgressWrite + progressInterval - Date.now();
          if (wait <= 0) {
            writeProgress();
          } else if (progressTimer === undefined) {
            progressTimer = setTimeout(writeProgress, wait);
          }
        },
      };

      const input = job.input;
      if (!run.isSettled()) {
        Promise.resolve()
          .then(() => kind.handler(input, context))
          .then(
            (output) => run.settle({ type: 'succeeded', output }),
            (error: unknown) => run.settle({ type: 'failed', error }),
          );
      }

      const result = await outcome;
      finished = true;
      // The slot is free as soon as the outcome is known, so a caller who saw the final status can rely on it.
      active.delete(id);
      if (result.type !== 'succeeded' && result.type !== 'failed') {
        run.controller.abort(
          result.type === 'timeout'
            ? codedError('JOB_TIMEOUT', `Job ${id} exceeded its timeout of ${timeoutMs} ms`, {
                jobId: id,
                timeoutMs,
              })
            : result.type === 'cancelled'
              ? codedError('JOB_CANCELLED', `Job ${id} was cancelled: ${result.reason}`, { jobId: id })
              : codedError('KIT_CLOSED', 'The job queue is closing', { jobId: id }),
        );
      }
      if (result.type === 'closing') {
        // Left `running` on purpose: the next start recovers it.
        return;
      }
      await finish(run, result, startedAt, timeoutMs);
    } finally {
      finished = true;
      clearTimeout(timeoutTimer);
      clearTimeout(progressTimer);
      active.delete(id);
      dispatch();
    }
  }

  async function finish(
    run: ActiveRun,
    result: Exclude<RunOutcome, { type: 'closing' }>,
    startedAt: Date,
    timeoutMs: number | undefined,
  ) {
    const job = run.job;
    const durationMs = Date.now() - startedAt.getTime();
    const finishedAt = new Date().toISOString();
    const progressFields = {
      progress: job.progress,
      progressMessage: job.progressMessage,
      metrics: job.metrics,
    };
    if (result.type === 'succeeded') {
      await safeUpdate(job.id, (current) => ({
        ...current,
        ...progressFields,
        status: 'succeeded',
        output: result.output,
        progress: 1,
        error: undefined,
        finishedAt,
      }));
      events.emit('job:succeeded', { jobId: job.id, kind: job.kind, durationMs, output: result.output });
      return;
    }
    if (result.type === 'cancelled') {
      await safeUpdate(job.id, (current) => ({
        ...current,
        ...progressFields,
        status: 'cancelled',
        error: { code: 'JOB_CANCELLED', message: result.reason },
        finishedAt,
      }));
      events.emit('job:cancelled', { jobId: job.id, kind: job.kind });
      return;
    }
    const error =
      result.type === 'timeout'
        ? codedError('JOB_TIMEOUT', `Job ${job.id} exceeded its timeout of ${timeoutMs} ms`)
        : result.error;
    const described = describeError(error);
    if (job.attempt < job.maxAttempts && isRetryable(error) && !closed) {
      const delayMs = job.backoffMs * 2 ** (job.attempt - 1);
      const updated = await safeUpdate(job.id, (current) => ({
        ...current,
        ...progressFields,
        status: 'queued',
        error: described,
        notBefore: Date.now() + delayMs,
      }));
      events.emit('job:retrying', {
        jobId: job.id,
        kind: job.kind,
        attempt: job.attempt,
        delayMs,
        error: described.message,
      });
      if (updated !== undefined && updated.status === 'queued') {
        enqueue(updated);
      }
      return;
    }
    await safeUpdate(job.id, (current) => ({
      ...current,
      ...progressFields,
      status: 'failed',
      error: described,
      finishedAt,
    }));
    events.emit('job:failed', {
      jobId: job.id,
      kind: job.kind,
      durationMs,
      error: described.message,
      code: described.code,
    });
  }

  const recover = async (kind: string, ids: string[]) => {
    const requeue = kinds.get(kind)?.options.requeueOnRecovery === true;
    for (const id of ids) {
      const updated = await safeUpdate(id, (current) => {
        if (current.status !== 'running') {
          return current;
        }
        if (requeue) {
          return { ...current, status: 'queued', notBefore: undefined };
        }
        return {
          ...current,
          status: 'failed',
          error: {
            code: 'JOB_INTERRUPTED',
            message: `The process stopped while job ${id} was running (attempt ${current.attempt})`,
          },
          finishedAt: new Date().toISOString(),
        };
      });
      if (updated === undefined) {
        continue;
      }
      logger.warn({ jobId: id, kind, status: updated.status }, 'Recovered a job interrupted by a crash');
      if (updated.status === 'queued') {
        enqueue(updated);
        events.emit('job:queued', { jobId: id, kind, owner: updated.owner });
      } else if (updated.status === 'failed') {
        events.emit('job:failed', {
          jobId: id,
          kind,
          durationMs: 0,
          error: updated.error?.message ?? 'interrupted',
          code: 'JOB_INTERRUPTED',
        });
      }
    }
  };

  const listAll = async (status: Job['status']): Promise<Job[]> => {
    const all: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await records.list({ filter: { status }, limit: 1000, cursor });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  };

  const queue: InProcessJobQueue = {
    async start() {
      if (started) {
        return;
      }
      for (const job of await listAll('queued')) {
        enqueue(job);
      }
      if (options.recover !== false) {
        for (const job of await listAll('running')) {
          const ids = interruptedByKind.get(job.kind) ?? [];
          ids.push(job.id);
          interruptedByKind.set(job.kind, ids);
        }
      }
      started = true;
      for (const kind of [...interruptedByKind.keys()]) {
        if (kinds.has(kind)) {
          const ids = interruptedByKind.get(kind) ?? [];
          interruptedByKind.delete(kind);
          await recover(kind, ids);
        }
      }
      dispatch();
    },

    register<Input, Output>(
      kind: string,
      handler: JobHandler<Input, Output>,
      kindOptions: JobKindOptions = {},
    ) {
      assertOpen();
      if (typeof kind !== 'string' || kind.length === 0 || typeof handler !== 'function') {
        throw codedError('VALIDATION_FAILED', 'A job kind needs a non-empty name and a handler function', {
          kind,
        });
      }
      if (kinds.has(kind)) {
        throw codedError('CONFLICT', `A handler for job kind "${kind}" is already registered`, { kind });
      }
      kinds.set(kind, { handler: handler as JobHandler<unknown, unknown>, options: kindOptions });
      const interrupted = interruptedByKind.get(kind);
      if (interrupted !== undefined && started) {
        interruptedByKind.delete(kind);
        track(recover(kind, interrupted).then(dispatch));
      } else {
        dispatch();
      }
    },

    async submit<Input>(kind: string, input: Input, submitOptions: SubmitOptions = {}) {
      assertOpen();
      const registered = kinds.get(kind);
      if (registered === undefined) {
        throw codedError('JOB_UNKNOWN_KIND', `No handler is registered for job kind "${kind}"`, {
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
      enqueue(job);
      events.emit('job:queued', { jobId: job.id, kind, owner: job.owner });
      dispatch();
      return job;
    },

    async get(id) {
      const stored = await records.get(id);
      const run = active.get(id);
      if (stored === undefined || run === undefined || stored.status !== 'running') {
        return stored;
      }
      // Progress is persisted throttled; the running job's latest progress is in memory.
      return {
        ...stored,
        progress: run.job.progress,
        progressMessage: run.job.progressMessage,
        metrics: run.job.metrics,
      };
    },

    async list(query: JobListQuery = {}) {
      const filter: Partial<Job> = {};
      if (query.kind !== undefined) filter.kind = query.kind;
      if (query.owner !== undefined) filter.owner = query.owner;
      if (query.status !== undefined) filter.status = query.status;
      return records.list({
        filter,
        sort: { field: 'createdAt', direction: 'desc' },
        limit: query.limit,
        cursor: query.cursor,
      });
    },

    async cancel(id, reason = 'cancelled by request') {
      const run = active.get(id);
      if (run !== undefined && run.job.status === 'running') {
        run.settle({ type: 'cancelled', reason });
        return (await queue.wait(id)) as Job;
      }
      const current = await records.get(id);
      if (current === undefined) {
        throw codedError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
      }
      if (FINAL_STATUSES.has(current.status)) {
        throw codedError('JOB_NOT_CANCELLABLE', `Job ${id} already ${current.status}`, {
          jobId: id,
          status: current.status,
        });
      }
      if (run !== undefined) {
        // Picked from the queue a moment ago; its record is being marked running.
        run.settle({ type: 'cancelled', reason });
        return (await queue.wait(id)) as Job;
      }
      pending.delete(id);
      const updated = await records.update(id, (latest) =>
        FINAL_STATUSES.has(latest.status)
          ? latest
          : {
              ...latest,
              status: 'cancelled',
              error: { code: 'JOB_CANCELLED', message: reason },
              finishedAt: new Date().toISOString(),
            },
      );
      if (updated.status === 'cancelled') {
        events.emit('job:cancelled', { jobId: id, kind: updated.kind });
      }
      return updated;
    },

    wait(id, waitOptions = {}) {
      return new Promise<Job>((resolve, reject) => {
        let done = false;
        const cleanups: Array<() => void> = [];
        const stop = () => {
          done = true;
          for (const cleanup of cleanups) cleanup();
        };
        const rejectWaiter = (error: unknown) => {
          if (!done) {
            stop();
            reject(error);
          }
        };
        waiters.add(rejectWaiter);
        cleanups.push(() => waiters.delete(rejectWaiter));
        const check = async () => {
          try {
            const job = await records.get(id);
            if (done) return;
            if (job === undefined) {
              stop();
              reject(codedError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id }));
            } else if (FINAL_STATUSES.has(job.status)) {
              stop();
              resolve(job);
            }
          } catch (error) {
            if (!done) {
              stop();
              reject(error);
            }
          }
        };
        const onFinal = (payload: { jobId: string }) => {
          if (payload.jobId === id) void check();
        };
        cleanups.push(events.on('job:succeeded', onFinal));
        cleanups.push(events.on('job:failed', onFinal));
        cleanups.push(events.on('job:cancelled', onFinal));
        const poll = setInterval(() => void check(), waitPollInterval);
        poll.unref?.();
        cleanups.push(() => clearInterval(poll));
        if (waitOptions.timeoutMs !== undefined) {
          const timer = setTimeout(() => {
            if (done) return;
            stop();
            reject(
              codedError('JOB_TIMEOUT', `Timed out after ${waitOptions.timeoutMs} ms waiting for job ${id}`, {
                jobId: id,
              }),
            );
          }, waitOptions.timeoutMs);
          cleanups.push(() => clearTimeout(timer));
        }
        const signal = waitOptions.signal;
        if (signal !== undefined) {
          const onAbort = () => {
            if (done) return;
            stop();
            reject(signal.reason);
          };
          if (signal.aborted) {
            onAbort();
            return;
          }
          signal.addEventListener('abort', onAbort, { once: true });
          cleanups.push(() => signal.removeEventListener('abort', onAbort));
        }
        void check();
      });
    },

    async close() {
      if (closed) {
        return;
      }
      closed = true;
      clearTimeout(wakeTimer);
      for (const run of active.values()) {
        run.settle({ type: 'closing' });
      }
      while (background.size > 0) {
        await Promise.allSettled([...background]);
      }
      for (const rejectWaiter of [...waiters]) {
        rejectWaiter(codedError('KIT_CLOSED', 'The job queue closed before the job finished'));
      }
    },
  };
  return queue;
}
