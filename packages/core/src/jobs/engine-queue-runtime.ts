import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger/logger.js';
import type { Job } from '../schemas/job.js';
import type { Collection } from '../storage/collection.js';
import type { RegisteredKind } from './job-queue-runtime.js';
import type { JobSlots } from './job-slots.js';
import type { QueueEngine } from './queue-engine.js';

/** How a run on an engine worker ended, as far as this process knows. */
export type EngineRunOutcome =
  | { type: 'succeeded'; output: unknown }
  | { type: 'failed'; error: unknown }
  | { type: 'timeout' }
  | { type: 'closing' }
  | { type: 'lost'; current: Job };

/** A job that runs in this process, from its claim to its final write. */
export interface EngineRun {
  /** The claimed record, with the latest progress (persisted throttled). */
  job: Job;
  controller: AbortController;
  /** Ends the run with its first outcome (later ones are ignored). */
  settle(outcome: EngineRunOutcome): void;
  /** Settles when the run is over here: its handler returned (or its grace ran out) and its outcome is written. */
  done: Promise<void>;
}

/**
 * The state one engine-backed job queue shares between its concerns (claiming deliveries, running
 * them, writing their outcome, relaying engine events): its configuration, its runs and its
 * lifecycle flags. One per `createEngineJobQueue` call; never shared between queues.
 */
export interface EngineQueueRuntime {
  readonly engine: QueueEngine;
  readonly events: EventBus;
  readonly logger: Logger;
  /** This process's id, written as `runnerId` into the jobs it runs. */
  readonly runnerId: string;
  readonly records: Collection<Job>;
  /** Whether this process runs jobs at all (`false` on an API that only submits and follows). */
  readonly work: boolean;
  /** Only these kinds run here (undefined: every registered kind). */
  readonly kindFilter: ReadonlySet<string> | undefined;
  /** Most jobs this process runs at once across all kinds. */
  readonly concurrency: number;
  /** Minimum milliseconds between two progress writes of one job. */
  readonly progressInterval: number;
  /** How often a running job's record is re-read (a cancel from another process) and `wait` polls. */
  readonly pollIntervalMs: number;
  /** How long an aborted handler may take to return before its job moves on. */
  readonly shutdownGraceMs: number;
  readonly kinds: Map<string, RegisteredKind>;
  /** The runs in this process, by job id. */
  readonly local: Map<string, EngineRun>;
  readonly slots: JobSlots;
  /** Unsubscribes of the engine follows, called on close. */
  readonly unfollows: Array<() => void>;
  /** Listeners of the engine's `finished` events (pending `wait`s); called with the job id. */
  readonly finishedListeners: Set<(jobId: string) => void>;
  /** Rejecters of pending waits, called with `KIT_CLOSED` when the queue closes. */
  readonly waiters: Set<(error: unknown) => void>;
  started: boolean;
  closed: boolean;
}
