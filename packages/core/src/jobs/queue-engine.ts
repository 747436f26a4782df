/**
 * What an engine delivers to Tunekit's engine-backed job queue: one run of one job, which the
 * engine holds (locked) until the processor returns.
 */
export interface QueueDelivery {
  /** Tunekit's job id. */
  jobId: string;
  /**
   * The engine's id of this engine job: Tunekit's job id for the job's first run, another id for a
   * run that `resume` queued (the record's `engineJobId`).
   */
  engineJobId: string;
  kind: string;
  /** Publishes progress to the other processes that follow this job (best effort). */
  publishProgress(progress: RemoteJobProgress): Promise<void>;
}

/** What the processor tells the engine when a delivery is over. */
export type DeliveryOutcome =
  /** The job is over in Tunekit's store (succeeded, cancelled, or lost to another delivery). */
  | { type: 'done' }
  /** The attempt failed and Tunekit's record is `queued`: the engine retries it with its backoff. */
  | { type: 'retry'; reason: string }
  /** The job failed for good: the engine records it failed and does not retry it. */
  | { type: 'failed'; reason: string }
  /** This process is shutting down: the engine gives the job back to the queue at once. */
  | { type: 'release' };

/** Progress of a job that runs in another process, as an engine relays it. */
export interface RemoteJobProgress {
  jobId: string;
  kind: string;
  /** The attempt of the run that reported it (absent from processes of older versions). */
  attempt?: number;
  progress: number;
  message?: string;
  metrics?: Record<string, number>;
}

/** A job as an engine enqueues it (everything else stays in Tunekit's store). */
export interface EngineJob {
  /** Tunekit's job id (carried in the engine job's data, back in {@link QueueDelivery.jobId}). */
  id: string;
  /**
   * The engine's id for this engine job: Tunekit's job id for the first run, a new UUID for each run
   * `resume` queues. Enqueueing is idempotent per engine id.
   */
  engineJobId: string;
  kind: string;
  /** Tunekit priority: higher runs first. */
  priority: number;
  maxAttempts: number;
  /** First retry delay in ms (the engine doubles it per attempt). */
  backoffMs: number;
}

/** How an engine runs one kind's deliveries in this process. */
export interface EngineWorkOptions {
  /** Most deliveries of this kind in flight at once in this process. */
  concurrency: number;
}

/**
 * A queue engine Tunekit runs jobs on (BullMQ on Redis, pg-boss on PostgreSQL): it stores the
 * queue, hands each job to one worker at a time, recovers jobs whose worker died (stalled or
 * expired) and retries failed attempts with backoff. Tunekit keeps the job records in its own store.
 */
export interface QueueEngine {
  /** `bullmq` or `pg-boss`. */
  readonly name: string;
  /** Connects (and creates what the engine needs, such as pg-boss's schema). */
  start(): Promise<void>;
  /** Queues a job; idempotent per engine job id. */
  enqueue(job: EngineJob): Promise<void>;
  /** Removes an engine job that has not started (a cancel); a no-op when it runs or is gone. */
  remove(job: { engineJobId: string; kind: string }): Promise<void>;
  /** Starts taking jobs of `kind` in this process. */
  work(
    kind: string,
    options: EngineWorkOptions,
    process: (delivery: QueueDelivery) => Promise<DeliveryOutcome>,
  ): Promise<void>;
  /**
   * Follows the progress and final states of `kind`'s jobs, published by whichever process runs
   * them; returns the unsubscribe.
   */
  follow(kind: string, listener: (event: EngineEvent) => void): Promise<() => void>;
  /** Stops taking jobs and waits for the processors in flight to return. */
  stopWorking(): Promise<void>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** An event another process published through the engine. */
export type EngineEvent =
  | ({ type: 'progress' } & RemoteJobProgress)
  /**
   * An engine job finished. `jobId` is Tunekit's job id, except for a resumed run on BullMQ, whose
   * `QueueEvents` only name the engine job: those are seen by `wait`'s polling of the record.
   */
  | { type: 'finished'; jobId: string; kind: string };
