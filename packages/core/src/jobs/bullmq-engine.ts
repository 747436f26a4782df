import { tunekitError } from '../errors/tunekit-error.js';
import type { Logger } from '../logger/logger.js';
import { createSilentLogger } from '../logger/logger.js';
import type { EngineEvent, EngineJob, QueueDelivery, QueueEngine } from './queue-engine.js';

/** Options of {@link createBullmqEngine}. */
export interface BullmqEngineOptions {
  /** Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS). */
  url: string;
  /** Prefix of every BullMQ key (default `tunekit`); one queue per job kind under it. */
  prefix?: string;
  /**
   * How long a worker holds a job without renewing its lock (default 30000 ms, renewed every half).
   * A job whose worker died is moved back to the queue by another worker's stalled-job check within
   * about `lockDurationMs + stalledIntervalMs`.
   */
  lockDurationMs?: number;
  /** How often each worker looks for stalled jobs (default 30000 ms). */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before BullMQ fails it (default 5). */
  maxStalledCount?: number;
  logger?: Logger;
}

type BullmqModule = typeof import('bullmq');
type RedisClient = import('ioredis').Redis;
type RedisConstructor = new (options: ReturnType<typeof connectionFromUrl>) => RedisClient;

async function loadBullmq(): Promise<{ bullmq: BullmqModule; Redis: RedisConstructor }> {
  try {
    const [bullmq, ioredis] = await Promise.all([import('bullmq'), import('ioredis')]);
    const Redis = ((ioredis as { default?: unknown }).default ?? ioredis.Redis) as RedisConstructor;
    return { bullmq, Redis };
  } catch (error) {
    throw tunekitError(
      'DEPENDENCY_MISSING',
      'The BullMQ job engine needs the optional packages bullmq and ioredis: npm install bullmq ioredis',
      undefined,
      { cause: error },
    );
  }
}

/** ioredis connection options from a Redis URL. */
function connectionFromUrl(url: string) {
  const parsed = new URL(url);
  const database = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db: database === '' ? 0 : Number(database),
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
    // Required by BullMQ workers: commands wait for the connection instead of failing.
    maxRetriesPerRequest: null,
  };
}

/** BullMQ priorities run lowest first (1 … 2^21); Tunekit's run highest first. */
export function toBullmqPriority(priority: number): number {
  return Math.min(2_097_152, Math.max(1, 1_048_576 - Math.round(priority)));
}

/**
 * The BullMQ engine (Redis): one BullMQ queue per job kind, a `Worker` per kind this process runs
 * (per-kind concurrency, lock renewal, stalled-job recovery), retries with BullMQ's exponential
 * backoff, and progress relayed across processes through BullMQ's `QueueEvents` stream. Give it to
 * {@link createEngineJobQueue}, or choose it with `createTunekit({ jobs: { engine: 'bullmq', url } })`.
 * `bullmq` is an optional peer dependency, imported when the engine starts.
 */
export function createBullmqEngine(options: BullmqEngineOptions): QueueEngine {
  const prefix = options.prefix ?? 'tunekit';
  const logger = options.logger ?? createSilentLogger();
  const connection = connectionFromUrl(options.url);
  let bullmq: BullmqModule | undefined;
  let Redis: RedisConstructor | undefined;
  // One client for the queues; workers and event streams block, so each gets its own.
  let shared: RedisClient | undefined;
  const clients: RedisClient[] = [];
  const client = () => {
    if (Redis === undefined) throw new Error('not started');
    const created = new Redis(connection);
    created.on('error', (error: unknown) => logger.warn({ err: error }, 'Redis connection error (BullMQ)'));
    clients.push(created);
    return created;
  };
  const queues = new Map<string, InstanceType<BullmqModule['Queue']>>();
  const workers: Array<{ close(): Promise<void> }> = [];
  const queueEvents: Array<{ close(): Promise<void> }> = [];

  const loaded = () => {
    if (bullmq === undefined) {
      throw tunekitError('KIT_CLOSED', 'The BullMQ engine is not started');
    }
    return bullmq;
  };
  const queueOf = (kind: string) => {
    let queue = queues.get(kind);
    if (queue === undefined) {
      shared ??= client();
      queue = new (loaded().Queue)(kind, { connection: shared, prefix });
      queue.on('error', (error) => logger.warn({ err: error, kind }, 'BullMQ queue error'));
      queues.set(kind, queue);
    }
    return queue;
  };

  return {
    name: 'bullmq',

    async start() {
      if (bullmq !== undefined) return;
      const loadedModules = await loadBullmq();
      Redis = loadedModules.Redis;
      bullmq = loadedModules.bullmq;
    },

    async enqueue(job: EngineJob) {
      await queueOf(job.kind).add(
        job.kind,
        { jobId: job.id },
        {
          jobId: job.engineJobId,
          priority: toBullmqPriority(job.priority),
          attempts: job.maxAttempts,
          backoff: { type: 'exponential', delay: job.backoffMs },
          removeOnComplete: { age: 24 * 3600, count: 10_000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      );
    },

    async remove(job) {
      const found = await queueOf(job.kind).getJob(job.engineJobId);
      if (found === undefined) return;
      const state = await found.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
        await found.remove().catch(() => undefined);
      }
    },

    async work(kind, workOptions, process) {
      const module = loaded();
      const worker = new module.Worker(
        kind,
        async (job, token) => {
          const delivery: QueueDelivery = {
            jobId: (job.data as { jobId?: string } | undefined)?.jobId ?? (job.id as string),
            engineJobId: job.id as string,
            kind,
            publishProgress: (progress) => job.updateProgress({ ...progress }),
          };
          const outcome = await process(delivery);
          if (outcome.type === 'retry') throw new Error(outcome.reason);
          if (outcome.type === 'failed') throw new module.UnrecoverableError(outcome.reason);
          if (outcome.type === 'release') {
            // Back to the queue at once, without counting an attempt.
            await job.moveToDelayed(Date.now(), token);
            throw new module.DelayedError();
          }
          return { done: true };
        },
        {
          connection: client(),
          prefix,
          concurrency: workOptions.concurrency,
          lockDuration: options.lockDurationMs ?? 30_000,
          stalledInterval: options.stalledIntervalMs ?? 30_000,
          maxStalledCount: options.maxStalledCount ?? 5,
        },
      );
      worker.on('error', (error) => logger.warn({ err: error, kind }, 'BullMQ worker error'));
      workers.push(worker);
      await worker.waitUntilReady();
    },

    async follow(kind, listener: (event: EngineEvent) => void) {
      const module = loaded();
      const events = new module.QueueEvents(kind, { connection: client(), prefix });
      events.on('error', (error) => logger.warn({ err: error, kind }, 'BullMQ queue events error'));
      queueEvents.push(events);
      events.on('progress', ({ jobId, data }) => {
        const progress = data as {
          jobId?: string;
          attempt?: unknown;
          progress?: unknown;
          message?: string;
          metrics?: Record<string, number>;
        };
        if (typeof progress?.progress !== 'number') return;
        listener({
          type: 'progress',
          // Tunekit's id, published with the progress (a resumed run's engine id differs).
          jobId: typeof progress.jobId === 'string' ? progress.jobId : jobId,
          kind,
          ...(typeof progress.attempt === 'number' ? { attempt: progress.attempt } : {}),
          progress: progress.progress,
          message: progress.message,
          metrics: progress.metrics,
        });
      });
      const finished = ({ jobId }: { jobId: string }) => listener({ type: 'finished', jobId, kind });
      events.on('completed', finished);
      events.on('failed', finished);
      events.on('removed', finished);
      await events.waitUntilReady();
      return () => {
        events.off('completed', finished);
        events.off('failed', finished);
        events.off('removed', finished);
        events.removeAllListeners('progress');
      };
    },

    async stopWorking() {
      await Promise.all(workers.splice(0).map((worker) => worker.close()));
    },

    async close() {
      await Promise.all(workers.splice(0).map((worker) => worker.close()));
      await Promise.all(queueEvents.splice(0).map((events) => events.close()));
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      queues.clear();
      await Promise.all(clients.splice(0).map((redis) => redis.quit().catch(() => redis.disconnect())));
      shared = undefined;
    },
  };
}
