import { randomUUID } from 'node:crypto';
import { type ErrorCode, ErrorCodes } from '../errors/error-codes.js';
import { TunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import { createSilentLogger, type Logger } from '../logger/logger.js';
import { type Job, JobSchema } from '../schemas/job.js';
import type { Collection, Storage } from '../storage/collection.js';
import { describeRunnerProcess, hasLeaseLapsed } from './job-lease.js';
import type {
  JobContext,
  JobHandler,
  JobKindOptions,
  JobListQuery,
  JobQueue,
  SubmitOptions,
} from './job-queue.js';
import { createJobQueueRevisionStore } from './job-queue-revision.js';

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
  id: string;
  /** The claimed record, with the latest progress (persisted throttled). */
  job: Job;
  controller: AbortController;
  settle: (outcome: RunOutcome) => void;
  isSettled: () => boolean;
  /** Resolves true once this runner holds the job, false when another runner took it first. */
  claimed: Promise<boolean>;
  /** A lease renewal is being written. */
  renewing: boolean;
  /** Settles when the run is over and its final state written (or given up). */
  done: Promise<void>;
}

type RunOutcome =
  | { type: 'succeeded'; output: unknown }
  | { type: 'failed'; error: unknown }
  | { type: 'cancelled'; reason: string }
  | { type: 'timeout' }
  | { type: 'closing' }
  | { type: 'lost'; current: Job };

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'cancelled']);

/** Attempts of an update that loses compare-and-set races to other runners before giving up. */
const MAX_UPDATE_ATTEMPTS = 10;

/** Thrown by an updater to leave the record as it is; carries the record it saw. */
class Unchanged {
  constructor(readonly current: Job) {}
}

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

function hasCode(error: unknown, code: ErrorCode): boolean {
  return TunekitError.isInstance(error) && error.code === code;
}

function assertPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw codedError(
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
  const logger = options.logger ?? createSilentLogger();
  const events = options.events;
  const concurrency = options.concurrency ?? 2;
  const progressInterval = options.progressPersistIntervalMs ?? 1000;
  const leaseMs = options.leaseMs ?? DEFAULT_JOB_LEASE_MS;
  const heartbeatMs = Math.max(1, Math.floor(leaseMs / 3));
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_JOB_POLL_INTERVAL_MS;
  const waitPollInterval = options.waitPollIntervalMs ?? pollIntervalMs;
  const recoverLapsed = options.recover !== false;
  const runnerId = options.runnerId ?? randomUUID();
  const runnerProcess = describeRunnerProcess();
  // `list` filters on status/kind and sorts by createdAt: indexed on SQLite and PostgreSQL.
  const records: Collection<Job> = options.storage.collection(JOBS_COLLECTION, JobSchema, {
    indexes: ['status', 'kind', 'createdAt'],
  });
  const revisions = createJobQueueRevisionStore(options.storage);
  const kinds = new Map<string, RegisteredKind>();
  // Queued jobs this runner may claim (a mirror of the store; stale entries lose their claim).
  const pending = new Map<string, PendingEntry>();
  // Runs that occupy a slot: claiming or running.
  const active = new Map<string, ActiveRun>();
  // Runs whose job this runner holds (claimed, not yet finalized in storage).
  const held = new Map<string, ActiveRun>();
  // Lapsed running jobs of kinds not registered here, from the last sweep: recovered on register.
  const lapsedByKind = new Map<string, Job[]>();
  const background = new Set<Promise<unknown>>();
  // Pending `wait` calls, rejected with KIT_CLOSED when the queue closes.
  const waiters = new Set<(error: unknown) => void>();
  let sequence = 0;
  let started = false;
  let closed = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let lastRevision: string | undefined;
  let lastSweepAt = 0;
  let sweeping: Promise<void> | undefined;
  let sweepAgain = false;
  let polling = false;

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

  /** Whether another runner may take this running job away from its holder. */
  const isLapsed = (job: Job, now = Date.now()) =>
    !(job.runnerId === runnerId && held.has(job.id)) && hasLeaseLapsed(job, { now, self: runnerProcess });

  /** `records.update`, retried when another runner's write wins the compare-and-set. */
  const updateRecord = async (id: string, updater: (current: Job) => Job): Promise<Job> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await records.update(id, updater);
      } catch (error) {
        if (!hasCode(error, 'CONFLICT') || attempt >= MAX_UPDATE_ATTEMPTS) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 5 * attempt)));
      }
    }
  };

  /**
   * Updates a job this runner holds. Returns the stored record, {@link Unchanged} with the current
   * record when the job is no longer this runner's (cancelled or recovered elsewhere), or undefined
   * when storage failed (logged).
   */
  const writeHeld = async (
    run: ActiveRun,
    change: (current: Job) => Job,
  ): Promise<Job | Unchanged | undefined> => {
    try {
      return await updateRecord(run.id, (current) => {
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
      if (error instanceof Unchanged) {
        return error;
      }
      if (hasCode(error, 'NOT_FOUND')) {
        return new Unchanged({ ...run.job, status: 'cancelled' });
      }
      if (!closed) {
        logger.error({ err: error, jobId: run.id }, 'Writing a job record failed');
      }
      return undefined;
    }
  };

  const bumpRevision = async () => {
    try {
      await revisions.bump();
    } catch (error) {
      if (!closed) {
        logger.warn({ err: error }, 'Signalling a queued job to other runners failed');
      }
    }
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

  function startRun(entry: PendingEntry) {
    // Reserve the slot synchronously; the job is claimed in storage asynchronously.
    let settleOutcome: (outcome: RunOutcome) => void = () => {};
    const outcome = new Promise<RunOutcome>((resolve) => {
      settleOutcome = resolve;
    });
    let resolveClaimed: (holds: boolean) => void = () => {};
    const claimed = new Promise<boolean>((resolve) => {
      resolveClaimed = resolve;
    });
    let settled = false;
    const run: ActiveRun = {
      id: entry.id,
      job: { id: entry.id, kind: entry.kind } as Job,
      controller: new AbortController(),
      settle: (value) => {
        if (!settled) {
          settled = true;
          settleOutcome(value);
        }
      },
      isSettled: () => settled,
      claimed,
      renewing: false,
      done: Promise.resolve(),
    };
    active.set(entry.id, run);
    run.done = track(execute(run, outcome, resolveClaimed));
  }

  /**
   * Claims a queued job with one compare-and-set update: `running`, this runner's id and a fresh
   * lease. Returns the claimed record and the one before, or undefined when the job is not (or no
   * longer) claimable: another runner won the race, it was cancelled, or its retry is not due yet.
   */
  async function claim(run: ActiveRun): Promise<{ job: Job; before: Job } | undefined> {
    let before: Job | undefined;
    try {
      const job = await records.update(run.id, (current) => {
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
          runnerId,
          leaseExpiresAt: now + leaseMs,
          runnerProcess,
        };
      });
      return { job, before: before as Job };
    } catch (error) {
      if (error instanceof Unchanged) {
        if (error.current.status === 'queued' && !closed) {
          // Re-queued by another runner with a later retry time.
          enqueue(error.current);
        } else {
          logger.debug({ jobId: run.id, status: error.current.status }, 'The job is no longer queued');
        }
      } else if (hasCode(error, 'CONFLICT')) {
        logger.debug({ jobId: run.id }, 'Another runner claimed the job first');
      } else if (!hasCode(error, 'NOT_FOUND') && !closed) {
        logger.error({ err: error, jobId: run.id }, 'Claiming a job failed');
        // Still queued in storage: the next poll lists it again.
        lastSweepAt = 0;
      }
      return undefined;
    }
  }

  async function execute(
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
      const claimedJob = await claim(run);
      if (claimedJob === undefined) {
        return;
      }
      const job = claimedJob.job;
      run.job = job;
      held.set(id, run);
      resolveClaimed(true);
      if (closed) {
        // Claimed while the queue was closing: put it back as it was.
        const restored = await writeHeld(run, () => claimedJob.before);
        if (restored !== undefined && !(restored instanceof Unchanged)) {
          await bumpRevision();
        }
        return;
      }
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
          writeHeld(run, (current) => ({ ...current, ...update })).then((written) => {
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
      if (result.type === 'timeout') {
        run.controller.abort(
          codedError('JOB_TIMEOUT', `Job ${id} exceeded its timeout of ${timeoutMs} ms`, {
            jobId: id,
            timeoutMs,
          }),
        );
      } else if (result.type === 'cancelled') {
        run.controller.abort(
          codedError('JOB_CANCELLED', `Job ${id} was cancelled: ${result.reason}`, { jobId: id }),
        );
      } else if (result.type === 'closing') {
        run.controller.abort(codedError('KIT_CLOSED', 'The job queue is closing', { jobId: id }));
      } else if (result.type === 'lost') {
        run.controller.abort(lostError(id, result.current));
      }
      if (result.type === 'closing') {
        // Left `running` on purpose with its lease released: any runner (this one's next start
        // included) recovers it at once.
        const progressFields = {
          progress: run.job.progress,
          progressMessage: run.job.progressMessage,
          metrics: run.job.metrics,
        };
        await writeHeld(run, (current) => ({ ...current, ...progressFields, leaseExpiresAt: Date.now() }));
        return;
      }
      if (result.type === 'lost') {
        reportLost(run, result.current, startedAt);
        return;
      }
      await finish(run, result, startedAt, timeoutMs);
    } finally {
      finished = true;
      resolveClaimed(false);
      clearTimeout(timeoutTimer);
      clearTimeout(progressTimer);
      active.delete(id);
      held.delete(id);
      dispatch();
    }
  }

  function lostError(id: string, current: Job): TunekitError {
    if (current.status === 'cancelled') {
      return codedError(
        'JOB_CANCELLED',
        `Job ${id} was cancelled: ${current.error?.message ?? 'by another runner'}`,
        {
          jobId: id,
        },
      );
    }
    return codedError(
      'JOB_LEASE_LOST',
      `Runner ${runnerId} lost job ${id}: it is now ${current.status}${current.runnerId !== undefined && current.runnerId !== runnerId ? ` (runner ${current.runnerId})` : ''}`,
      { jobId: id, runnerId, status: current.status, holder: current.runnerId },
    );
  }

  /** A job this runner ran was finalized or taken by another runner: report it locally, write nothing. */
  function reportLost(run: ActiveRun, current: Job, startedAt: number) {
    const id = run.id;
    if (current.status === 'cancelled') {
      logger.info({ jobId: id, kind: run.job.kind }, 'A running job was cancelled by another runner');
      events.emit('job:cancelled', { jobId: id, kind: run.job.kind });
      return;
    }
    logger.warn(
      { jobId: id, kind: run.job.kind, status: current.status, holder: current.runnerId },
      'This runner lost a running job to another runner (its lease lapsed); its handler was aborted',
    );
    if (current.status === 'failed') {
      events.emit('job:failed', {
        jobId: id,
        kind: run.job.kind,
        durationMs: Date.now() - startedAt,
        error: current.error?.message ?? 'lost',
        code: current.error?.code,
      });
    }
  }

  async function finish(
    run: ActiveRun,
    result: Exclude<RunOutcome, { type: 'closing' } | { type: 'lost' }>,
    startedAt: number,
    timeoutMs: number | undefined,
  ) {
    const job = run.job;
    const durationMs = Date.now() - startedAt;
    const finishedAt = new Date().toISOString();
    const progressFields = {
      progress: job.progress,
      progressMessage: job.progressMessage,
      metrics: job.metrics,
    };
    /** Writes the final state; false when the job was taken meanwhile (then reported, not written). */
    const write = async (change: (current: Job) => Job): Promise<Job | undefined | false> => {
      const written = await writeHeld(run, (current) => ({
        ...change(current),
        leaseExpiresAt: undefined,
      }));
      if (written instanceof Unchanged) {
        reportLost(run, written.current, startedAt);
        return false;
      }
      return written;
    };
    if (result.type === 'succeeded') {
      const written = await write((current) => ({
        ...current,
        ...progressFields,
        status: 'succeeded',
        output: result.output,
        progress: 1,
        error: undefined,
        finishedAt,
      }));
      if (written !== false) {
        events.emit('job:succeeded', { jobId: job.id, kind: job.kind, durationMs, output: result.output });
      }
      return;
    }
    if (result.type === 'cancelled') {
      const written = await write((current) => ({
        ...current,
        ...progressFields,
        status: 'cancelled',
        error: { code: 'JOB_CANCELLED', message: result.reason },
        finishedAt,
      }));
      if (written !== false) {
        events.emit('job:cancelled', { jobId: job.id, kind: job.kind });
      }
      return;
    }
    const error =
      result.type === 'timeout'
        ? codedError('JOB_TIMEOUT', `Job ${job.id} exceeded its timeout of ${timeoutMs} ms`)
        : result.error;
    const described = describeError(error);
    if (job.attempt < job.maxAttempts && isRetryable(error) && !closed) {
      const delayMs = job.backoffMs * 2 ** (job.attempt - 1);
      const updated = await write((current) => ({
        ...current,
        ...progressFields,
        status: 'queued',
        error: described,
        notBefore: Date.now() + delayMs,
      }));
      if (updated === false) {
        return;
      }
      events.emit('job:retrying', {
        jobId: job.id,
        kind: job.kind,
        attempt: job.attempt,
        delayMs,
        error: described.message,
      });
      if (updated !== undefined && updated.status === 'queued') {
        enqueue(updated);
        await bumpRevision();
      }
      return;
    }
    const written = await write((current) => ({
      ...current,
      ...progressFields,
      status: 'failed',
      error: described,
      finishedAt,
    }));
    if (written !== false) {
      events.emit('job:failed', {
        jobId: job.id,
        kind: job.kind,
        durationMs,
        error: described.message,
        code: described.code,
      });
    }
  }

  /** Renews the lease of every job this runner runs; a job found taken aborts its handler. */
  function renewLeases() {
    for (const run of held.values()) {
      if (run.renewing || run.isSettled()) {
        continue;
      }
      run.renewing = true;
      track(
        writeHeld(run, (current) => ({ ...current, leaseExpiresAt: Date.now() + leaseMs }))
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

  /** Re-queues or fails running jobs of `kind` whose lease lapsed (checked again in each update). */
  const recover = async (kind: string, candidates: Job[]) => {
    const requeue = kinds.get(kind)?.options.requeueOnRecovery === true;
    for (const candidate of candidates) {
      if (closed) {
        return;
      }
      const id = candidate.id;
      if (held.has(id) || active.has(id)) {
        continue;
      }
      let updated: Job;
      try {
        updated = await updateRecord(id, (current) => {
          if (current.status !== 'running' || !isLapsed(current)) {
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
        if (!(error instanceof Unchanged) && !hasCode(error, 'NOT_FOUND') && !closed) {
          logger.error({ err: error, jobId: id }, 'Recovering a job failed');
        }
        continue;
      }
      logger.warn(
        { jobId: id, kind, status: updated.status, previousRunner: candidate.runnerId },
        'Recovered a running job whose runner stopped (its lease lapsed)',
      );
      if (updated.status === 'queued') {
        enqueue(updated);
        events.emit('job:queued', { jobId: id, kind, owner: updated.owner });
        await bumpRevision();
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

  /**
   * Lists the queued and running jobs: refreshes the pending mirror (adds jobs queued by other
   * runners, drops those claimed or cancelled elsewhere) and recovers lapsed leases.
   */
  async function sweep() {
    const firstUnseen = sequence;
    const now = Date.now();
    lastSweepAt = now;
    const queued: Job[] = [];
    const running: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await records.list({
        filter: (job) => job.status === 'queued' || job.status === 'running',
        limit: 1000,
        cursor,
      });
      for (const job of page.items) {
        (job.status === 'queued' ? queued : running).push(job);
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined && !closed);
    if (closed) {
      return;
    }
    const queuedIds = new Set(queued.map((job) => job.id));
    for (const [id, entry] of pending) {
      // Entries added since the listing began may be missing from it.
      if (entry.sequence < firstUnseen && !queuedIds.has(id)) {
        pending.delete(id);
      }
    }
    for (const job of queued) {
      const entry = pending.get(job.id);
      if (!active.has(job.id) && (entry === undefined || entry.notBefore !== (job.notBefore ?? 0))) {
        enqueue(job);
      }
    }
    if (recoverLapsed) {
      lapsedByKind.clear();
      const recoverable = new Map<string, Job[]>();
      for (const job of running) {
        if (!isLapsed(job, now)) {
          continue;
        }
        const target = kinds.has(job.kind) ? recoverable : lapsedByKind;
        target.set(job.kind, [...(target.get(job.kind) ?? []), job]);
      }
      for (const [kind, jobs] of recoverable) {
        await recover(kind, jobs);
      }
    }
    dispatch();
  }

  /** Runs a sweep now, or once more after the one in progress. */
  function requestSweep() {
    if (closed || !started) {
      return;
    }
    if (sweeping !== undefined) {
      sweepAgain = true;
      return;
    }
    sweeping = track(
      (async () => {
        try {
          do {
            sweepAgain = false;
            try {
              await sweep();
            } catch (error) {
              lastSweepAt = 0;
              if (!closed) {
                logger.error({ err: error }, 'Listing queued and running jobs failed');
              }
            }
          } while (sweepAgain && !closed);
        } finally {
          sweeping = undefined;
        }
      })(),
    );
  }

  /** Reads the queue revision; sweeps when it changed or when the last sweep is a lease old. */
  function poll() {
    if (polling || closed) {
      return;
    }
    polling = true;
    track(
      (async () => {
        try {
          const revision = await revisions.read();
          if (revision !== lastRevision || Date.now() - lastSweepAt >= leaseMs) {
            lastRevision = revision;
            requestSweep();
          }
        } catch (error) {
          if (!closed) {
            logger.warn({ err: error }, 'Polling the job queue failed');
          }
        } finally {
          polling = false;
        }
      })(),
    );
  }

  const queue: InProcessJobQueue = {
    runnerId,

    async start() {
      if (started) {
        return;
      }
      started = true;
      lastRevision = await revisions.read();
      await sweep();
      pollTimer = setInterval(poll, pollIntervalMs);
      pollTimer.unref?.();
      heartbeatTimer = setInterval(renewLeases, heartbeatMs);
      heartbeatTimer.unref?.();
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
      const lapsed = lapsedByKind.get(kind);
      if (lapsed !== undefined && started) {
        lapsedByKind.delete(kind);
        // Recover first, so that a re-queued job competes with the queued ones by priority.
        track(recover(kind, lapsed).then(dispatch));
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
      // After the record: a runner that sees the new revision and then lists finds the job.
      await bumpRevision();
      return job;
    },

    async get(id) {
      const stored = await records.get(id);
      const run = held.get(id);
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
      for (;;) {
        const local = held.get(id) ?? active.get(id);
        if (local !== undefined) {
          if ((await local.claimed) && !local.isSettled()) {
            // Running here: the run writes the final state.
            local.settle({ type: 'cancelled', reason });
            return (await queue.wait(id)) as Job;
          }
          if (held.get(id) === local) {
            // Its outcome is being written: decide on the state it leaves.
            await local.done;
            continue;
          }
        }
        pending.delete(id);
        let updated: Job;
        try {
          updated = await updateRecord(id, (latest) => {
            if (
              FINAL_STATUSES.has(latest.status) ||
              (latest.status === 'running' && latest.runnerId === runnerId && held.has(id))
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
            throw codedError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
          }
          if (!(error instanceof Unchanged)) {
            throw error;
          }
          if (FINAL_STATUSES.has(error.current.status)) {
            throw codedError('JOB_NOT_CANCELLABLE', `Job ${id} already ${error.current.status}`, {
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
        // Jobs finished by other runners emit nothing here: polling sees them.
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
      clearInterval(pollTimer);
      clearInterval(heartbeatTimer);
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
