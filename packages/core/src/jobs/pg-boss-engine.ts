import { tunekitError } from '../errors/tunekit-error.js';
import type { Logger } from '../logger/logger.js';
import { createSilentLogger } from '../logger/logger.js';
import type { DeliveryOutcome, EngineEvent, EngineJob, QueueDelivery, QueueEngine } from './queue-engine.js';

/** Options of {@link createPgBossEngine}. */
export interface PgBossEngineOptions {
  /** PostgreSQL connection URI (`postgres://user:password@host:port/database`). */
  url: string;
  /** The schema pg-boss creates its tables in (default `tunekit_jobs`). */
  schema?: string;
  /**
   * How long a worker holds a job without renewing (default 30000 ms; renewed every third). pg-boss
   * fails an active job past its expiry and retries it, which is how the job of a worker that died
   * goes back to the queue: within `leaseMs` plus one maintenance run (every `leaseMs / 2`).
   */
  leaseMs?: number;
  /** How often an idle worker polls for jobs (default 1000 ms; pg-boss's minimum is 500). */
  pollIntervalMs?: number;
  /** Times a job may go back to the queue because its worker died, besides its own retries (default 5). */
  maxStalledCount?: number;
  logger?: Logger;
}

type PgBossModule = typeof import('pg-boss');
type PgBoss = InstanceType<PgBossModule>;

async function loadPgBoss(): Promise<PgBossModule> {
  try {
    const module = (await import('pg-boss')) as unknown as { default?: PgBossModule };
    return (module.default ?? module) as PgBossModule;
  } catch (error) {
    throw tunekitError(
      'DEPENDENCY_MISSING',
      'The pg-boss job engine needs the optional package pg-boss (10.x on Node 20): npm install pg-boss@10',
      undefined,
      { cause: error },
    );
  }
}

/** `pg` is a dependency of core; named through a variable so that its (absent) types are not needed. */
const PG_MODULE = 'pg';

/** The part of `pg.Client` the event listener uses. */
type PgClientConstructor = new (config: {
  connectionString: string;
}) => {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: string, listener: (...args: never[]) => void): void;
};

/** The fetch loops of one kind in this process. */
interface WorkLoop {
  stopped: boolean;
  /** Ends the current idle wait at once. */
  wake: (() => void) | undefined;
  /** One promise per loop, settled when it stops. */
  done: Array<Promise<void>>;
}

/** Where processes publish progress and final states (PostgreSQL NOTIFY). */
const channelOf = (schema: string) => `${schema}_events`;

/**
 * The pg-boss engine (PostgreSQL, for teams without Redis): one pg-boss queue per job kind, `work`
 * loops per kind up to its concurrency, retries with pg-boss's exponential backoff, and the job of a
 * worker that died failed by pg-boss's expiry and retried. pg-boss 10 has no heartbeat, so a running
 * job's expiry is pushed forward every `leaseMs / 3` (an update of its `expire_in`): the expiry acts
 * as a lease, not as a timeout (Tunekit enforces `timeoutMs` itself). Progress and final states
 * reach other processes through PostgreSQL `NOTIFY`. `pg-boss` is an optional peer dependency
 * (10.x: 11 and later need Node 22), imported when the engine starts.
 */
export function createPgBossEngine(options: PgBossEngineOptions): QueueEngine {
  const schema = options.schema ?? 'tunekit_jobs';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) {
    throw tunekitError('VALIDATION_FAILED', 'The pg-boss schema must be a plain SQL identifier', { schema });
  }
  const logger = options.logger ?? createSilentLogger();
  const leaseSeconds = Math.max(2, Math.round((options.leaseMs ?? 30_000) / 1000));
  const pollingIntervalSeconds = Math.max(0.5, (options.pollIntervalMs ?? 1000) / 1000);
  const maxStalledCount = options.maxStalledCount ?? 5;
  const channel = channelOf(schema);
  let boss: PgBoss | undefined;
  const created = new Map<string, Promise<void>>();
  const loops = new Map<string, WorkLoop>();
  const inFlight = new Set<Promise<unknown>>();
  let listener: { end(): Promise<void> } | undefined;
  const followers = new Map<string, Set<(event: EngineEvent) => void>>();

  const started = () => {
    if (boss === undefined) {
      throw tunekitError('KIT_CLOSED', 'The pg-boss engine is not started');
    }
    return boss;
  };
  const sql = (text: string, values: unknown[]) => started().getDb().executeSql(text, values);
  // Queue creation adds a partition with foreign keys: concurrent creations can deadlock
  // (PostgreSQL aborts one), so they run one at a time here and are retried across processes.
  let creations: Promise<unknown> = Promise.resolve();
  const createQueue = async (kind: string) => {
    const instance = started();
    for (let attempt = 1; ; attempt += 1) {
      try {
        await instance.createQueue(kind);
        return;
      } catch (error) {
        if ((await instance.getQueue(kind).catch(() => null)) !== null) return;
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
      }
    }
  };
  const ensureQueue = (kind: string) => {
    let creating = created.get(kind);
    if (creating === undefined) {
      creating = creations.then(() => createQueue(kind));
      creations = creating.catch(() => undefined);
      created.set(kind, creating);
      creating.catch(() => created.delete(kind));
    }
    return creating;
  };
  const notify = (payload: EngineEvent) =>
    sql('SELECT pg_notify($1, $2)', [channel, JSON.stringify(payload)]).then(() => undefined);

  /** Stops every fetch loop and waits for the deliveries being handled. */
  const stopLoops = async () => {
    for (const loop of loops.values()) {
      loop.stopped = true;
      loop.wake?.();
    }
    await Promise.allSettled([...loops.values()].flatMap((loop) => loop.done));
    loops.clear();
    await waitForInFlight();
  };

  /** Waits until no delivery is being handled (each one settles and leaves the set). */
  const waitForInFlight = async () => {
    while (inFlight.size > 0) {
      await Promise.allSettled([...inFlight]);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  return {
    name: 'pg-boss',

    async start() {
      if (boss !== undefined) return;
      const PgBossClass = await loadPgBoss();
      const instance = new PgBossClass({
        connectionString: options.url,
        schema,
        schedule: false,
        supervise: true,
        migrate: true,
        maintenanceIntervalSeconds: Math.max(1, Math.round(leaseSeconds / 2)),
      });
      instance.on('error', (error) => logger.warn({ err: error }, 'pg-boss error'));
      await instance.start();
      boss = instance;
    },

    async enqueue(job: EngineJob) {
      await ensureQueue(job.kind);
      await started().send(
        job.kind,
        { jobId: job.id },
        {
          id: job.engineJobId,
          priority: job.priority,
          retryLimit: job.maxAttempts - 1 + maxStalledCount,
          retryDelay: Math.max(1, Math.round(job.backoffMs / 1000)),
          retryBackoff: true,
          expireInSeconds: leaseSeconds,
        },
      );
    },

    async remove(job) {
      await ensureQueue(job.kind);
      await started().cancel(job.kind, job.engineJobId);
    },

    async work(kind, workOptions, process) {
      const instance = started();
      await ensureQueue(kind);
      const loop: WorkLoop = { stopped: false, wake: undefined, done: [] };
      loops.set(kind, loop);
      /** Handles engine job `engineJobId` of Tunekit's job `jobId` (equal for a job's first run). */
      const handle = async (engineJobId: string, jobId: string) => {
        // One NOTIFY after the other: sent at once over the pool's connections they arrive out of order.
        let published: Promise<void> = Promise.resolve();
        const delivery: QueueDelivery = {
          jobId,
          engineJobId,
          kind,
          publishProgress: (progress) => {
            published = published
              .catch(() => undefined)
              .then(() => notify({ type: 'progress', ...progress }));
            return published;
          },
        };
        // The lease: push the expiry forward while the job runs (pg-boss 10 has no heartbeat API).
        const renew = setInterval(
          () => {
            void sql(
              `UPDATE ${schema}.job SET expire_in = (now() - started_on) + make_interval(secs => $3)
               WHERE name = $1 AND id = $2 AND state = 'active'`,
              [kind, engineJobId, leaseSeconds],
            ).catch((error: unknown) => logger.warn({ err: error, jobId }, 'Renewing a pg-boss job failed'));
          },
          (leaseSeconds * 1000) / 3,
        );
        try {
          const outcome = await process(delivery).catch(
            (error: unknown): DeliveryOutcome => ({
              type: 'retry',
              reason: error instanceof Error ? error.message : String(error),
            }),
          );
          if (outcome.type === 'done') await instance.complete(kind, engineJobId);
          else if (outcome.type === 'retry')
            await instance.fail(kind, engineJobId, { message: outcome.reason });
          else if (outcome.type === 'failed') {
            // No retry left: pg-boss fails a job whose retry count reached its limit (no API sets it).
            await sql(`UPDATE ${schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [
              kind,
              engineJobId,
            ]);
            await instance.fail(kind, engineJobId, { message: outcome.reason });
          } else {
            // Back to the queue at once, without using up a retry (no API: pg-boss's fail waits a retry delay).
            await sql(
              `UPDATE ${schema}.job SET state = 'retry', start_after = now(), retry_limit = retry_limit + 1
                 WHERE name = $1 AND id = $2 AND state = 'active'`,
              [kind, engineJobId],
            );
          }
        } catch (error) {
          logger.warn({ err: error, jobId, kind }, 'Settling a pg-boss job failed; its expiry returns it');
        } finally {
          clearInterval(renew);
          await published.catch(() => undefined);
          await notify({ type: 'finished', jobId, kind }).catch(() => undefined);
        }
      };
      // Our own fetch loop rather than pg-boss's `work`: `work` races each handler against the job's
      // expiry and fails the job when it runs longer, while a training runs far longer than a lease.
      const next = async () => {
        while (!loop.stopped) {
          let jobs: Array<{ id: string; data?: { jobId?: string } }> = [];
          try {
            jobs = await instance.fetch(kind, { batchSize: 1 });
          } catch (error) {
            logger.warn({ err: error, kind }, 'Fetching pg-boss jobs failed; retrying');
          }
          if (jobs.length === 0) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, pollingIntervalSeconds * 1000);
              loop.wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            loop.wake = undefined;
            continue;
          }
          for (const job of jobs) {
            const handling = handle(job.id, job.data?.jobId ?? job.id);
            inFlight.add(handling);
            try {
              await handling;
            } finally {
              inFlight.delete(handling);
            }
          }
        }
      };
      for (let index = 0; index < workOptions.concurrency; index++) loop.done.push(next());
    },

    async follow(kind, onEvent) {
      let listeners = followers.get(kind);
      if (listeners === undefined) {
        listeners = new Set();
        followers.set(kind, listeners);
      }
      listeners.add(onEvent);
      if (listener === undefined) {
        const pg = (await import(PG_MODULE)) as {
          default?: { Client: PgClientConstructor };
          Client?: PgClientConstructor;
        };
        const Client = (pg.default?.Client ?? pg.Client) as PgClientConstructor;
        const client = new Client({ connectionString: options.url });
        client.on('error', (error: unknown) => logger.warn({ err: error }, 'pg-boss event listener error'));
        listener = client;
        await client.connect();
        client.on('notification', (message: { channel: string; payload?: string }) => {
          if (message.channel !== channel || message.payload === undefined) return;
          try {
            const event = JSON.parse(message.payload) as EngineEvent;
            for (const follower of followers.get(event.kind) ?? []) follower(event);
          } catch (error) {
            logger.debug({ err: error }, 'Ignoring an unreadable job event');
          }
        });
        await client.query(`LISTEN ${channel}`);
      }
      return () => {
        listeners.delete(onEvent);
      };
    },

    async stopWorking() {
      const instance = boss;
      if (instance === undefined) return;
      await stopLoops();
    },

    async close() {
      const instance = boss;
      boss = undefined;
      if (instance !== undefined) {
        await stopLoops();
        await instance.stop({ graceful: true, wait: true, timeout: 5_000 });
      }
      await listener?.end();
      listener = undefined;
      followers.clear();
    },
  };
}
