import { randomUUID } from 'node:crypto';
import { tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import { createSilentLogger, type Logger } from '../logger/logger.js';
import { type Job, JobSchema } from '../schemas/job.js';
import type { Collection, Storage } from '../storage/collection.js';
import { renewLeases } from './claim-job.js';
import { dispatchPendingJobs } from './dispatch-pending-jobs.js';
import { describeRunnerProcess } from './job-lease.js';
import type { JobHandler, JobKindOptions, JobListQuery, JobQueue, SubmitOptions } from './job-queue.js';
import { createJobQueueRevisionStore } from './job-queue-revision.js';
import {
  bumpRevision,
  enqueue,
  FINAL_JOB_STATUSES,
  hasCode,
  isLapsed,
  type JobQueueRuntime,
  track,
  Unchanged,
  updateRecord,
} from './job-queue-runtime.js';
import { listJobRecords, withLiveProgress } from './job-record-queries.js';
import { pollJobQueue, recoverLapsedJobs, sweepJobs } from './recover-lapsed-jobs.js';
import { writeResumedJobRecord } from './resumed-job-record.js';
import { type JobWaiting, waitForJob } from './wait-for-job.js';

/** How long `resume` waits for a stopped handler of the same job to return (it saves its checkpoint). */
const RESUME_HANDLER_WAIT_MS = 60_000;

/** Name of the storage collection that holds job records. */
export const JOBS_COLLECTION = 'jobs';

/** Default of {@link InProcessJobQueueOptions.leaseMs}: 30 seconds. */
export const DEFAULT_JOB_LEASE_MS = 30_000;

/** Default of {@link InProcessJobQueueOptions.pollIntervalMs}: 1 second. */
export const DEFAULT_JOB_POLL_INTERVAL_MS = 1_000;

/** Options of {@link createInProcessJobQueue}. */
export interface InProcessJobQueueOptions {
  /** Where job records are persisted (collection {@link JOBS_COLLECTION}). */
  storage: Storage;
  /** Where `job:*` events are emitted. */
  events: EventBus;
  logger?: Logger;
  /**
   * Most jobs this runner runs at once across all kinds (default 2). Kinds may set a lower limit.
   * Limits are per runner: two runners on one storage run up to twice as many.
   */
  concurrency?: number;
  /**
   * Recover running jobs whose lease lapsed — their runner crashed, stalled or closed — at
   * {@link InProcessJobQueue.start} and then periodically (default true).
   */
  recover?: boolean;
  /** Minimum milliseconds between two progress writes of one job (default 1000); events are not throttled. */
  progressPersistIntervalMs?: number;
  /** How often `wait` re-reads the record besides listening to events (default `pollIntervalMs`). */
  waitPollIntervalMs?: number;
  /**
   * How long a runner holds a job it claimed without renewing (default
   * {@link DEFAULT_JOB_LEASE_MS}). The runner renews the lease every `leaseMs / 3` while the handler
   * runs; once it lapses, another runner on the same storage recovers the job. Use the same value on
   * every runner of a storage; keep it well above the longest pause of a runner's event loop.
   */
  leaseMs?: number;
  /**
   * How often the runner looks for jobs that other runners queued, with a one-key read (default
   * {@link DEFAULT_JOB_POLL_INTERVAL_MS}); it lists the jobs only when that key changed, and at least
   * once per `leaseMs` to recover lapsed leases. Jobs submitted through this runner start at once.
   */
  pollIntervalMs?: number;
  /**
   * Identifies this runner in job records (`runnerId`); default a random UUID. Must be unique among
   * the runners of a storage.
   */
  runnerId?: string;
}

/** The in-process queue: a {@link JobQueue} plus the start step that loads and recovers persisted jobs. */
export interface InProcessJobQueue extends JobQueue {
  /** This runner's id, written as `runnerId` into the jobs it claims. */
  readonly runnerId: string;
  /**
   * Loads queued jobs from storage, starts polling for jobs queued by other runners and, unless
   * `recover` is false, recovers running jobs whose lease lapsed: once their kind is registered, each
   * is re-queued (kind option `requeueOnRecovery`) or marked `failed` with `JOB_INTERRUPTED`. Call
   * once, before submitting.
   */
  start(): Promise<void>;
}

function assertPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Job queue option ${name} must be a positive number of milliseconds`,
      {
        [name]: value,
      },
    );
  }
}

/**
 * Creates the in-process job queue: a runner that executes jobs in this process.
 *
 * Jobs run with a global concurrency limit (and an optional per-kind one), highest `priority`
 * first, then oldest first. A failed attempt is retried while attempts remain, after
 * `backoffMs × 2^(attempt−1)` (a handler can opt out by throwing a `TunekitError` with
 * `details.retryable === false`). Cancellation and timeouts abort the handler's `signal`; the job is
 * finalized at once (`cancelled`, or `failed` with `JOB_TIMEOUT`) even if the handler ignores the
 * signal. Progress is emitted as `job:progress` on every call and persisted at most every
 * `progressPersistIntervalMs`.
 *
 * Every state change is written to the `jobs` collection of the kit's storage with compare-and-set
 * updates, so several runners (processes, hosts) can share one storage — SQLite, Redis or
 * PostgreSQL, whose updates are atomic:
 * - a runner claims a queued job by switching it to `running` with its `runnerId` and a lease
 *   (`leaseExpiresAt`); when two runners race for a job, one update wins and the other skips it;
 * - the holder renews the lease every `leaseMs / 3`; a running job whose lease lapsed (its runner
 *   crashed, stalled or closed) is recovered by any runner that has its kind registered; a runner
 *   that finds its job taken (recovered or cancelled elsewhere) aborts the handler and writes nothing;
 * - runners find jobs queued elsewhere by polling (`pollIntervalMs`); `cancel` and `wait` work on
 *   jobs that other runners run.
 * Events are local to the runner: `job:queued` is emitted where the job was submitted,
 * `job:started`, `job:progress`, `job:retrying` and `job:succeeded` where it runs, `job:cancelled`
 * where it was cancelled and (when that is another runner) also where it ran.
 *
 * @example
 * ```ts
 * const queue = createInProcessJobQueue({ storage, events, concurrency: 2 });
 * await queue.start();
 * queue.register('resize', async (input: { size: number }, { progress, signal }) => { … }, { maxAttempts: 3 });
 * const job = await queue.submit('resize', { size: 3 }, { owner: 'ada', priority: 5 });
 * const done = await queue.wait(job.id);
 * ```
 * @throws `VALIDATION_FAILED` when `leaseMs` or `pollIntervalMs` is not a positive number.
 */
export function createInProcessJobQueue(options: InProcessJobQueueOptions): InProcessJobQueue {
  assertPositive('leaseMs', options.leaseMs);
  assertPositive('pollIntervalMs', options.pollIntervalMs);
  const events = options.events;
  const leaseMs = options.leaseMs ?? DEFAULT_JOB_LEASE_MS;
  const heartbeatMs = Math.max(1, Math.floor(leaseMs / 3));
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_JOB_POLL_INTERVAL_MS;
  const runnerId = options.runnerId ?? randomUUID();
  // `list` filters on status/kind and sorts by createdAt: indexed on SQLite and PostgreSQL.
  const records: Collection<Job> = options.storage.collection(JOBS_COLLECTION, JobSchema, {
    indexes: ['status', 'kind', 'createdAt'],
  });
  const revisions = createJobQueueRevisionStore(options.storage);
  const runtime: JobQueueRuntime = {
    runnerId,
    runnerProcess: describeRunnerProcess(),
    logger: options.logger ?? createSilentLogger(),
    events,
    concurrency: options.concurrency ?? 2,
    progressInterval: options.progressPersistIntervalMs ?? 1000,
    leaseMs,
    recoverLapsed: options.recover !== false,
    records,
    revisions,
    kinds: new Map(),
    pending: new Map(),
    active: new Map(),
    held: new Map(),
    lapsedByKind: new Map(),
    handlers: new Map(),
    background: new Set(),
    sequence: 0,
    started: false,
    closed: false,
    lastSweepAt: 0,
    lastRevision: undefined,
    wakeTimer: undefined,
    sweeping: undefined,
    sweepAgain: false,
    polling: false,
    dispatch: () => dispatchPendingJobs(runtime),
  };
  // Pending `wait` calls, rejected with KIT_CLOSED when the queue closes.
  const waiters = new Set<(error: unknown) => void>();
  const waiting: JobWaiting = {
    records,
    events,
    pollIntervalMs: options.waitPollIntervalMs ?? pollIntervalMs,
    waiters,
  };
  let pollTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;

  const assertOpen = () => {
    if (runtime.closed) {
      throw tunekitError('KIT_CLOSED', 'The job queue is closed');
    }
  };

  const queue: InProcessJobQueue = {
    runnerId,

    async start() {
      if (runtime.started) {
        return;
      }
      runtime.started = true;
      runtime.lastRevision = await revisions.read();
      await sweepJobs(runtime);
      pollTimer = setInterval(() => pollJobQueue(runtime), pollIntervalMs);
      pollTimer.unref?.();
      heartbeatTimer = setInterval(() => renewLeases(runtime), heartbeatMs);
      heartbeatTimer.unref?.();
      runtime.dispatch();
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
      if (runtime.kinds.has(kind)) {
        throw tunekitError('CONFLICT', `A handler for job kind "${kind}" is already registered`, { kind });
      }
      runtime.kinds.set(kind, { handler: handler as JobHandler<unknown, unknown>, options: kindOptions });
      const lapsed = runtime.lapsedByKind.get(kind);
      if (lapsed !== undefined && runtime.started) {
        runtime.lapsedByKind.delete(kind);
        // Recover first, so that a re-queued job competes with the queued ones by priority.
        track(runtime, recoverLapsedJobs(runtime, kind, lapsed).then(runtime.dispatch));
      } else {
        runtime.dispatch();
      }
    },

    async submit<Input>(kind: string, input: Input, submitOptions: SubmitOptions = {}) {
      assertOpen();
      const registered = runtime.kinds.get(kind);
      if (registered === undefined) {
        throw tunekitError('JOB_UNKNOWN_KIND', `No handler is registered for job kind "${kind}"`, {
          kind,
          registered: [...runtime.kinds.keys()],
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
      enqueue(runtime, job);
      events.emit('job:queued', { jobId: job.id, kind, owner: job.owner });
      runtime.dispatch();
      // After the record: a runner that sees the new revision and then lists finds the job.
      await bumpRevision(runtime);
      return job;
    },

    async get(id) {
      return withLiveProgress(await records.get(id), runtime.held.get(id));
    },

    list(query: JobListQuery = {}) {
      return listJobRecords(records, query);
    },

    async cancel(id, reason = 'cancelled by request') {
      for (;;) {
        const local = runtime.held.get(id) ?? runtime.active.get(id);
        if (local !== undefined) {
          if ((await local.claimed) && !local.isSettled()) {
            // Running here: the run writes the final state.
            local.settle({ type: 'cancelled', reason });
            return (await queue.wait(id)) as Job;
          }
          if (runtime.held.get(id) === local) {
            // Its outcome is being written: decide on the state it leaves.
            await local.done;
            continue;
          }
        }
        runtime.pending.delete(id);
        let updated: Job;
        try {
          updated = await updateRecord(runtime, id, (latest) => {
            if (
              FINAL_JOB_STATUSES.has(latest.status) ||
              (latest.status === 'running' && latest.runnerId === runnerId && runtime.held.has(id))
            ) {
              throw new Unchanged(latest);
            }
            // Queued, or running on another runner, which notices at its next lease renewal.
            return {
              ...latest,
              status: 'cancelled',
              error: { code: 'JOB_CANCELLED', message: reason },
              finishedAt: new Date().toISOString(),
              leaseExpiresAt: undefined,
            };
          });
        } catch (error) {
          if (hasCode(error, 'NOT_FOUND')) {
            throw tunekitError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
          }
          if (!(error instanceof Unchanged)) {
            throw error;
          }
          if (FINAL_JOB_STATUSES.has(error.current.status)) {
            throw tunekitError('JOB_NOT_CANCELLABLE', `Job ${id} already ${error.current.status}`, {
              jobId: id,
              status: error.current.status,
            });
          }
          // Claimed by this runner in the meantime: cancel it locally.
          continue;
        }
        events.emit('job:cancelled', { jobId: id, kind: updated.kind });
        return updated;
      }
    },

    async resume(id) {
      assertOpen();
      // A handler that was stopped here may still be saving what the next attempt resumes from
      // (bounded: a handler that ignores its signal does not block the resume for ever).
      const stopping = runtime.handlers.get(id);
      if (stopping !== undefined && !runtime.active.has(id) && !runtime.held.has(id)) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          stopping,
          new Promise((resolve) => {
            timer = setTimeout(resolve, RESUME_HANDLER_WAIT_MS);
            timer.unref?.();
          }),
        ]);
        clearTimeout(timer);
      }
      const updated = await writeResumedJobRecord(runtime, id, {
        resumable: (current) =>
          (current.status === 'cancelled' ||
            current.status === 'failed' ||
            (current.status === 'running' && isLapsed(runtime, current))) &&
          !runtime.held.has(id) &&
          !runtime.active.has(id),
        fields: { leaseExpiresAt: undefined },
        running: 'its runner is alive and still holds it',
        resumes: 'a cancelled, failed or interrupted job',
      });
      runtime.logger.info({ jobId: id, kind: updated.kind, attempt: updated.attempt }, 'Resuming a job');
      enqueue(runtime, updated);
      events.emit('job:queued', { jobId: id, kind: updated.kind, owner: updated.owner });
      runtime.dispatch();
      await bumpRevision(runtime);
      return updated;
    },

    wait(id, waitOptions = {}) {
      return waitForJob(waiting, id, waitOptions);
    },

    async close() {
      if (runtime.closed) {
        return;
      }
      runtime.closed = true;
      clearTimeout(runtime.wakeTimer);
      clearInterval(pollTimer);
      clearInterval(heartbeatTimer);
      for (const run of runtime.active.values()) {
        run.settle({ type: 'closing' });
      }
      while (runtime.background.size > 0) {
        await Promise.allSettled([...runtime.background]);
      }
      for (const rejectWaiter of [...waiters]) {
        rejectWaiter(tunekitError('KIT_CLOSED', 'The job queue closed before the job finished'));
      }
    },
  };
  return queue;
}
