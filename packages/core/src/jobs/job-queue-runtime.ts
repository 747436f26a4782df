import type { ErrorCode } from '../errors/error-codes.js';
import { TunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger/logger.js';
import type { Job } from '../schemas/job.js';
import type { Collection } from '../storage/collection.js';
import { hasLeaseLapsed, type RunnerProcess } from './job-lease.js';
import type { JobHandler, JobKindOptions } from './job-queue.js';
import type { JobQueueRevisionStore } from './job-queue-revision.js';

/** A job kind registered on a runner: its handler and options. */
export interface RegisteredKind {
  handler: JobHandler<unknown, unknown>;
  options: JobKindOptions;
}

/** A queued job this runner may claim, as the dispatcher orders them. */
export interface PendingEntry {
  id: string;
  kind: string;
  priority: number;
  createdAt: string;
  notBefore: number;
  sequence: number;
}

/** A job that occupies one of this runner's slots, from claiming to its final write. */
export interface ActiveRun {
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

/** How a run ended, as far as this runner knows. */
export type RunOutcome =
  | { type: 'succeeded'; output: unknown }
  | { type: 'failed'; error: unknown }
  | { type: 'cancelled'; reason: string }
  | { type: 'timeout' }
  | { type: 'closing' }
  | { type: 'lost'; current: Job };

/** Job statuses a job never leaves. */
export const FINAL_JOB_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

/** Attempts of an update that loses compare-and-set races to other runners before giving up. */
const MAX_UPDATE_ATTEMPTS = 10;

/** Thrown by an updater to leave the record as it is; carries the record it saw. */
export class Unchanged {
  constructor(readonly current: Job) {}
}

/**
 * The state one in-process runner shares between its concerns (dispatch, claiming, execution,
 * crash recovery): its configuration, the in-memory mirrors of the store and its lifecycle flags.
 * One per `createInProcessJobQueue` call; never shared between runners.
 */
export interface JobQueueRuntime {
  readonly runnerId: string;
  readonly runnerProcess: RunnerProcess | undefined;
  readonly logger: Logger;
  readonly events: EventBus;
  /** Most jobs this runner runs at once. */
  readonly concurrency: number;
  /** Minimum milliseconds between two progress writes of one job. */
  readonly progressInterval: number;
  readonly leaseMs: number;
  /** Whether lapsed running jobs are recovered. */
  readonly recoverLapsed: boolean;
  readonly records: Collection<Job>;
  readonly revisions: JobQueueRevisionStore;
  readonly kinds: Map<string, RegisteredKind>;
  /** Queued jobs this runner may claim (a mirror of the store; stale entries lose their claim). */
  readonly pending: Map<string, PendingEntry>;
  /** Runs that occupy a slot: claiming or running. */
  readonly active: Map<string, ActiveRun>;
  /** Runs whose job this runner holds (claimed, not yet finalized in storage). */
  readonly held: Map<string, ActiveRun>;
  /** Lapsed running jobs of kinds not registered here, from the last sweep: recovered on register. */
  readonly lapsedByKind: Map<string, Job[]>;
  /**
   * Handlers still running here, by job id, until they return: a cancelled or timed-out job is
   * settled at once, but its handler may still be writing (the trainer saves its last checkpoint),
   * and `resume` waits for that before the next attempt starts.
   */
  readonly handlers: Map<string, Promise<void>>;
  /** Promises the queue waits for when it closes. */
  readonly background: Set<Promise<unknown>>;
  /** Order of arrival of pending entries. */
  sequence: number;
  started: boolean;
  closed: boolean;
  /** When the last sweep began (0 forces the next poll to sweep). */
  lastSweepAt: number;
  /** The queue revision seen by the last poll. */
  lastRevision: string | undefined;
  /** Timer that dispatches when the earliest delayed retry is due. */
  wakeTimer: NodeJS.Timeout | undefined;
  /** The sweep in progress. */
  sweeping: Promise<void> | undefined;
  /** Another sweep was requested while one was in progress. */
  sweepAgain: boolean;
  /** A poll is reading the revision. */
  polling: boolean;
  /** Starts as many pending jobs as there are free slots. */
  dispatch: () => void;
}

/** Whether `error` is a {@link TunekitError} with `code`. */
export function hasCode(error: unknown, code: ErrorCode): boolean {
  return TunekitError.isInstance(error) && error.code === code;
}

/** Keeps `promise` in the runtime's background set until it settles (the queue's close waits for it). */
export function track<T>(runtime: JobQueueRuntime, promise: Promise<T>): Promise<T> {
  runtime.background.add(promise);
  promise.then(
    () => runtime.background.delete(promise),
    () => runtime.background.delete(promise),
  );
  return promise;
}

/** Adds a queued job to the pending mirror (replacing an older entry of the same job). */
export function enqueue(runtime: JobQueueRuntime, job: Job): void {
  runtime.pending.set(job.id, {
    id: job.id,
    kind: job.kind,
    priority: job.priority,
    createdAt: job.createdAt,
    notBefore: job.notBefore ?? 0,
    sequence: runtime.sequence++,
  });
}

/** Whether another runner may take this running job away from its holder. */
export function isLapsed(runtime: JobQueueRuntime, job: Job, now = Date.now()): boolean {
  return (
    !(job.runnerId === runtime.runnerId && runtime.held.has(job.id)) &&
    hasLeaseLapsed(job, { now, self: runtime.runnerProcess })
  );
}

/**
 * `records.update`, retried when another process's write wins the compare-and-set. Takes any
 * runtime with job records (the in-process runner's and the engine-backed queue's).
 */
export async function updateRecord(
  runtime: { readonly records: Collection<Job> },
  id: string,
  updater: (current: Job) => Job,
): Promise<Job> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await runtime.records.update(id, updater);
    } catch (error) {
      if (!hasCode(error, 'CONFLICT') || attempt >= MAX_UPDATE_ATTEMPTS) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 5 * attempt)));
    }
  }
}

/**
 * Whether `current` is still the run that `runnerId` claimed as `attempt`: `running`, held by that
 * runner, same attempt. Anything else means the job was cancelled, finished, or redelivered to
 * (recovered by) another process.
 */
export function isHeldBy(current: Job, runnerId: string, attempt: number): boolean {
  return current.status === 'running' && current.runnerId === runnerId && current.attempt === attempt;
}

/**
 * Updates a job that `runtime` holds as `held` (the record as its run claimed it): the stored
 * record must still be that run ({@link isHeldBy}). Returns the stored record, or
 * {@link Unchanged} with the current record when the job is no longer this run's (a deleted record
 * counts as cancelled). Storage failures are thrown.
 */
export async function updateHeldRecord(
  runtime: { readonly records: Collection<Job>; readonly runnerId: string },
  held: Job,
  change: (current: Job) => Job,
): Promise<Job | Unchanged> {
  try {
    return await updateRecord(runtime, held.id, (current) => {
      if (!isHeldBy(current, runtime.runnerId, held.attempt)) {
        throw new Unchanged(current);
      }
      return change(current);
    });
  } catch (error) {
    if (error instanceof Unchanged) {
      return error;
    }
    if (hasCode(error, 'NOT_FOUND')) {
      return new Unchanged({ ...held, status: 'cancelled' });
    }
    throw error;
  }
}

/**
 * Updates a job this runner holds ({@link updateHeldRecord}). Returns the stored record,
 * {@link Unchanged} with the current record when the job is no longer this runner's (cancelled or
 * recovered elsewhere), or undefined when storage failed (logged).
 */
export async function writeHeld(
  runtime: JobQueueRuntime,
  run: ActiveRun,
  change: (current: Job) => Job,
): Promise<Job | Unchanged | undefined> {
  try {
    return await updateHeldRecord(runtime, run.job, change);
  } catch (error) {
    if (!runtime.closed) {
      runtime.logger.error({ err: error, jobId: run.id }, 'Writing a job record failed');
    }
    return undefined;
  }
}

/** Signals other runners that a job became queued (a failure is logged, never thrown). */
export async function bumpRevision(runtime: JobQueueRuntime): Promise<void> {
  try {
    await runtime.revisions.bump();
  } catch (error) {
    if (!runtime.closed) {
      runtime.logger.warn({ err: error }, 'Signalling a queued job to other runners failed');
    }
  }
}
