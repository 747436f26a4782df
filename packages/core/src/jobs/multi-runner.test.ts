import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TunekitError } from '../errors/tunekit-error.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { EventEnvelope } from '../events/event-bus.js';
import { type Job, JobSchema } from '../schemas/job.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import {
  findPostgresBinaries,
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  startPostgresServer,
} from '../testing/start-postgres-server.js';
import {
  findRedisServer,
  REDIS_SERVER_MISSING_REASON,
  type RedisTestServer,
  startRedisServer,
} from '../testing/start-redis-server.js';
import {
  createInProcessJobQueue,
  type InProcessJobQueue,
  type InProcessJobQueueOptions,
  JOBS_COLLECTION,
} from './in-process-job-queue.js';
import { describeRunnerProcess } from './job-lease.js';

// Small leases and polls keep the tests fast: heartbeats every 100 ms, recovery within ~0.6 s.
const LEASE_MS = 300;
const POLL_MS = 25;

const redisAvailable = findRedisServer() !== undefined;
const postgresAvailable = findPostgresBinaries() !== undefined;
if (!redisAvailable) {
  console.warn(`Multi-runner job tests on Redis skipped: ${REDIS_SERVER_MISSING_REASON}`);
}
if (!postgresAvailable) {
  console.warn(`Multi-runner job tests on PostgreSQL skipped: ${POSTGRES_SERVER_MISSING_REASON}`);
}
let redis: RedisTestServer | undefined;
let postgres: PostgresTestServer | undefined;
let directory = '';
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-runners-'));
  [redis, postgres] = await Promise.all([
    redisAvailable ? startRedisServer() : undefined,
    postgresAvailable ? startPostgresServer() : undefined,
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
  await rm(directory, { recursive: true, force: true });
});

/**
 * A store two runners share. `open()` returns a new connection to the same data for each runner
 * (two SQLite connections to one file, two Redis or PostgreSQL clients), as two processes would
 * have; the memory store can only be shared as one instance.
 */
interface SharedStore {
  name: string;
  skipReason?: string;
  /** Starts a fresh, empty store for one test and returns how to connect to it. */
  create(test: number): () => Promise<Storage>;
}

const stores: SharedStore[] = [
  {
    name: 'memory (one storage instance)',
    create() {
      const shared = createStorage({ driver: 'memory' });
      let opened = 0;
      return async () => {
        const storage = await shared;
        opened += 1;
        // Closing the first runner must not wipe the store under the second.
        return opened === 1 ? storage : { collection: storage.collection, close: async () => {} };
      };
    },
  },
  {
    name: 'sqlite (file)',
    create: (test) => () => createStorage({ driver: 'sqlite', path: join(directory, `jobs-${test}.sqlite`) }),
  },
  {
    name: 'redis',
    skipReason: redisAvailable ? undefined : REDIS_SERVER_MISSING_REASON,
    // One logical database per test (a fresh, empty store).
    create: (test) => () =>
      createStorage({ driver: 'redis', url: `${(redis as RedisTestServer).url}/${test % 16}` }),
  },
  {
    name: 'postgres',
    skipReason: postgresAvailable ? undefined : POSTGRES_SERVER_MISSING_REASON,
    create: (test) => () =>
      createStorage({ driver: 'postgres', uri: (postgres as PostgresTestServer).uri, table: `jobs_${test}` }),
  },
];

const opened: Array<{ queue: InProcessJobQueue; storage: Storage }> = [];
// Frozen storages are thawed before closing, or their runner's close would wait forever.
const thawers: Array<() => void> = [];
afterEach(async () => {
  for (const thaw of thawers.splice(0)) thaw();
  for (const { queue, storage } of opened.splice(0).reverse()) {
    await queue.close();
    await storage.close();
  }
});

interface Runner {
  queue: InProcessJobQueue;
  storage: Storage;
  log: EventEnvelope[];
}

async function startRunner(
  storage: Storage,
  runnerId: string,
  options: Partial<InProcessJobQueueOptions> = {},
): Promise<Runner> {
  const events = createEventBus();
  const log: EventEnvelope[] = [];
  events.onAny((envelope) => log.push(envelope));
  const queue = createInProcessJobQueue({
    storage,
    events,
    runnerId,
    leaseMs: LEASE_MS,
    pollIntervalMs: POLL_MS,
    progressPersistIntervalMs: 0,
    ...options,
  });
  opened.push({ queue, storage });
  await queue.start();
  return { queue, storage, log };
}

/**
 * Wraps a runner's storage so that the test can stall its job writes, like a process that froze
 * (or lost its network): while frozen, updates of job records wait; `thaw()` lets them through, and
 * they then apply to whatever the record has become meanwhile.
 */
function freezable(storage: Storage) {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const wrapped: Storage = {
    collection(name, schema) {
      const collection = storage.collection(name, schema);
      if (name !== JOBS_COLLECTION) {
        return collection;
      }
      return {
        ...collection,
        async update(id, updater) {
          while (gate !== undefined) {
            await gate;
          }
          return collection.update(id, updater);
        },
      };
    },
    close: () => storage.close(),
  };
  const thaw = () => {
    gate = undefined;
    open();
  };
  thawers.push(thaw);
  return {
    storage: wrapped,
    thaw,
    freeze() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
  };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function untilAborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

const eventsOf = (log: EventEnvelope[], id: string) =>
  log.filter((event) => (event.payload as { jobId?: string }).jobId === id).map((event) => event.name);

let testNumber = 0;

describe.each(stores)('two job runners on one $name store', (store) => {
  const skip = store.skipReason !== undefined;
  const title = (text: string) => (skip ? `${text} (skipped: ${store.skipReason})` : text);
  let open: () => Promise<Storage>;
  afterEach(() => {
    testNumber += 1;
  });
  const fresh = () => {
    open = store.create(testNumber + 1);
    return open;
  };

  it.skipIf(skip)(
    title('run 40 jobs exactly once in total, each runner taking some (claims race on compare-and-set)'),
    async () => {
      const connect = fresh();
      const a = await startRunner(await connect(), 'A', { concurrency: 2 });
      const b = await startRunner(await connect(), 'B', { concurrency: 2 });
      // A third runner only submits (its limit for the kind is 0), like an API process: A and B find
      // the jobs by polling, both list the same backlog and go for the oldest job first.
      const submitter = await startRunner(await connect(), 'submitter');
      submitter.queue.register('work', async () => 'never here', { concurrency: 0 });
      const runs: Array<{ jobId: string; runner: string }> = [];
      for (const runner of [a, b]) {
        runner.queue.register('work', async (input: { n: number }, context) => {
          runs.push({ jobId: context.jobId, runner: runner.queue.runnerId });
          await sleep(1 + (input.n % 3) * 2);
          return input.n;
        });
      }
      const jobs: Job[] = [];
      for (let n = 0; n < 40; n += 1) {
        jobs.push(await submitter.queue.submit('work', { n }));
      }
      const done = await Promise.all(jobs.map((job) => submitter.queue.wait(job.id, { timeoutMs: 30_000 })));

      expect(done.map((job) => job.status)).toEqual(jobs.map(() => 'succeeded'));
      expect(done.map((job) => job.attempt)).toEqual(jobs.map(() => 1));
      const ranBy = new Map<string, string[]>();
      for (const run of runs) ranBy.set(run.jobId, [...(ranBy.get(run.jobId) ?? []), run.runner]);
      expect(runs).toHaveLength(40);
      for (const job of done) {
        expect(ranBy.get(job.id)).toEqual([job.runnerId]);
        expect(job.leaseExpiresAt).toBeUndefined();
      }
      const counts = { A: 0, B: 0 } as Record<string, number>;
      for (const run of runs) counts[run.runner] = (counts[run.runner] ?? 0) + 1;
      expect(counts.A).toBeGreaterThan(0);
      expect(counts.B).toBeGreaterThan(0);
      // Lifecycle events are emitted once, on the runner that ran the job. The runner emits
      // job:succeeded just after it stores the record the submitter's wait polls for, so under load
      // the event can trail the wait by a moment.
      for (const job of done) {
        const runner = job.runnerId === 'A' ? a : b;
        const other = job.runnerId === 'A' ? b : a;
        await vi.waitFor(() => expect(eventsOf(runner.log, job.id)).toContain('job:succeeded'), {
          timeout: 5_000,
        });
        expect(eventsOf(other.log, job.id)).not.toContain('job:started');
      }
    },
    60_000,
  );

  it.skipIf(skip)(
    title('leave a job with a live lease alone, across many leases, and wait for it from the other runner'),
    async () => {
      const connect = fresh();
      const a = await startRunner(await connect(), 'A');
      let calls = 0;
      a.queue.register(
        'steady',
        async (_input, context) => {
          calls += 1;
          // Runs for four leases while reporting progress: renewals and progress writes interleave.
          for (let step = 1; step <= 24; step += 1) {
            await sleep(LEASE_MS / 6);
            context.progress(step / 24);
          }
          return 'from A';
        },
        { requeueOnRecovery: true },
      );
      const job = await a.queue.submit('steady', {});
      await sleep(50);
      // B starts while A runs the job, with the kind registered: it must neither re-run nor fail it.
      const b = await startRunner(await connect(), 'B');
      b.queue.register('steady', async () => 'from B', { requeueOnRecovery: true });
      const running = await b.queue.get(job.id);
      expect(running).toMatchObject({ status: 'running', runnerId: 'A' });
      expect(running?.leaseExpiresAt).toBeGreaterThan(Date.now());
      const done = await b.queue.wait(job.id, { timeoutMs: 10_000 });
      expect(done).toMatchObject({ status: 'succeeded', output: 'from A', runnerId: 'A', attempt: 1 });
      expect(calls).toBe(1);
      expect(eventsOf(b.log, job.id)).toEqual([]);
    },
    30_000,
  );

  it.skipIf(skip)(
    title(
      'recover the job of a frozen runner once its lease lapses; the runner then aborts and writes nothing',
    ),
    async () => {
      const connect = fresh();
      const frozen = freezable(await connect());
      const a = await startRunner(frozen.storage, 'A');
      const started = deferred();
      let abortedWith: unknown;
      a.queue.register(
        'resumable',
        async (_input, context) => {
          started.resolve();
          abortedWith = await untilAborted(context.signal);
          return 'from A';
        },
        { requeueOnRecovery: true },
      );
      const job = await a.queue.submit('resumable', { epoch: 2 });
      await started.promise;
      const b = await startRunner(await connect(), 'B');
      const ranOnB: unknown[] = [];
      b.queue.register(
        'resumable',
        async (input, context) => {
          ranOnB.push({ input, attempt: context.attempt });
          return 'from B';
        },
        { requeueOnRecovery: true },
      );
      const frozenAt = Date.now();
      frozen.freeze();
      const done = await b.queue.wait(job.id, { timeoutMs: 10_000 });
      const recoveredAfter = Date.now() - frozenAt;
      expect(done).toMatchObject({ status: 'succeeded', output: 'from B', runnerId: 'B', attempt: 2 });
      expect(ranOnB).toEqual([{ input: { epoch: 2 }, attempt: 2 }]);
      expect(recoveredAfter).toBeGreaterThanOrEqual(LEASE_MS - LEASE_MS / 3 - 20);
      expect(abortedWith).toBeUndefined();

      frozen.thaw();
      await expect.poll(() => abortedWith, { timeout: 5_000 }).toBeDefined();
      expect((abortedWith as TunekitError).code).toBe('JOB_LEASE_LOST');
      await sleep(LEASE_MS);
      const records = b.storage.collection(JOBS_COLLECTION, JobSchema);
      expect(await records.get(job.id)).toEqual(done);
      expect(eventsOf(a.log, job.id)).toEqual(['job:queued', 'job:started']);
      expect(eventsOf(b.log, job.id)).toEqual(['job:queued', 'job:started', 'job:succeeded']);
    },
    30_000,
  );

  it.skipIf(skip)(
    title('a frozen runner whose handler finished meanwhile does not overwrite the JOB_INTERRUPTED recovery'),
    async () => {
      const connect = fresh();
      const frozen = freezable(await connect());
      const a = await startRunner(frozen.storage, 'A');
      const started = deferred();
      const release = deferred();
      a.queue.register('fragile', async () => {
        started.resolve();
        await release.promise;
        return 'from A';
      });
      const job = await a.queue.submit('fragile', {});
      await started.promise;
      const b = await startRunner(await connect(), 'B');
      b.queue.register('fragile', async () => 'must not run');
      frozen.freeze();
      const failed = await b.queue.wait(job.id, { timeoutMs: 10_000 });
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'JOB_INTERRUPTED' }, attempt: 1 });
      release.resolve();
      await sleep(20);
      frozen.thaw();
      await expect.poll(() => eventsOf(a.log, job.id).at(-1), { timeout: 5_000 }).toBe('job:failed');
      const records = b.storage.collection(JOBS_COLLECTION, JobSchema);
      expect(await records.get(job.id)).toEqual(failed);
      expect(eventsOf(a.log, job.id)).not.toContain('job:succeeded');
    },
    30_000,
  );

  it.skipIf(skip)(
    title('cancel on one runner a job running on the other: its handler is aborted within a renewal'),
    async () => {
      const connect = fresh();
      const a = await startRunner(await connect(), 'A', { concurrency: 1 });
      const b = await startRunner(await connect(), 'B');
      const started = deferred();
      let abortedWith: unknown;
      let abortedAt = 0;
      a.queue.register('long', async (_input, context) => {
        started.resolve();
        abortedWith = await untilAborted(context.signal);
        abortedAt = Date.now();
        throw abortedWith;
      });
      b.queue.register('long', async () => 'B has the kind too, but A runs this job');
      const job = await a.queue.submit('long', {});
      await started.promise;
      expect((await b.queue.get(job.id))?.runnerId).toBe('A');
      const cancelledAt = Date.now();
      const cancelled = await b.queue.cancel(job.id, 'stopped from B');
      expect(cancelled).toMatchObject({
        status: 'cancelled',
        error: { code: 'JOB_CANCELLED', message: 'stopped from B' },
      });
      await expect.poll(() => abortedWith, { timeout: 5_000 }).toBeDefined();
      expect((abortedWith as TunekitError).code).toBe('JOB_CANCELLED');
      expect(abortedAt - cancelledAt).toBeLessThan(LEASE_MS);
      expect(await a.queue.wait(job.id)).toEqual(cancelled);
      expect(eventsOf(b.log, job.id)).toEqual(['job:cancelled']);
      await expect.poll(() => eventsOf(a.log, job.id).at(-1), { timeout: 1_000 }).toBe('job:cancelled');
      await expect(b.queue.cancel(job.id)).rejects.toMatchObject({ code: 'JOB_NOT_CANCELLABLE' });
      // A's only slot is free again.
      a.queue.register('quick', async () => 'ok');
      const next = await a.queue.submit('quick', {});
      expect(await a.queue.wait(next.id, { timeoutMs: 5_000 })).toMatchObject({ status: 'succeeded' });
      const records = a.storage.collection(JOBS_COLLECTION, JobSchema);
      expect(await records.get(job.id)).toEqual(cancelled);
    },
    30_000,
  );

  it.skipIf(skip)(
    title('cancel a job queued by the other runner before anyone runs it'),
    async () => {
      const connect = fresh();
      // A's only slot is busy, and B does not run this kind: the job waits, queued.
      const a = await startRunner(await connect(), 'A', { concurrency: 1 });
      const b = await startRunner(await connect(), 'B');
      const blocker = deferred();
      a.queue.register('block', () => blocker.promise);
      let ran = false;
      a.queue.register('later', async () => {
        ran = true;
      });
      const blocking = await a.queue.submit('block', {});
      const job = await a.queue.submit('later', {});
      const cancelled = await b.queue.cancel(job.id, 'not needed');
      expect(cancelled).toMatchObject({ status: 'cancelled', attempt: 0, error: { message: 'not needed' } });
      expect(eventsOf(b.log, job.id)).toEqual(['job:cancelled']);
      blocker.resolve();
      expect(await a.queue.wait(blocking.id)).toMatchObject({ status: 'succeeded' });
      await sleep(50);
      expect(ran).toBe(false);
      expect(await a.queue.wait(job.id)).toEqual(cancelled);
    },
    30_000,
  );
});

describe('job leases without a second runner', () => {
  it('treat a running record without lease fields (an older version) as lapsed', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const records = storage.collection(JOBS_COLLECTION, JobSchema);
    const legacy: Job = JobSchema.parse({
      id: 'legacy',
      kind: 'old',
      status: 'running',
      input: {},
      attempt: 1,
      createdAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
    });
    await records.set(legacy);
    const runner = await startRunner(storage, 'new');
    runner.queue.register('old', async () => 'unused');
    expect(await runner.queue.wait('legacy', { timeoutMs: 5_000 })).toMatchObject({
      status: 'failed',
      error: { code: 'JOB_INTERRUPTED' },
    });
  });

  it('recover at once a job whose runner process is gone, but wait for a live process to renew', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const records = storage.collection(JOBS_COLLECTION, JobSchema);
    // Another runner of this process (alive) and one of a process that no longer exists.
    const namespace = describeRunnerProcess()?.namespace;
    const base = {
      kind: 'held',
      status: 'running' as const,
      input: {},
      attempt: 1,
      createdAt: new Date().toISOString(),
      leaseExpiresAt: Date.now() + 60_000,
    };
    await records.set(
      JobSchema.parse({
        ...base,
        id: 'alive',
        runnerId: 'other',
        runnerProcess: namespace ? { namespace, pid: process.pid } : undefined,
      }),
    );
    await records.set(
      JobSchema.parse({
        ...base,
        id: 'gone',
        runnerId: 'dead',
        runnerProcess: namespace ? { namespace, pid: 2 ** 22 + 1 } : undefined,
      }),
    );
    const runner = await startRunner(storage, 'checker', { leaseMs: 60_000 });
    runner.queue.register('held', async () => 'unused');
    if (namespace === undefined) {
      console.warn('PID namespace check skipped: not Linux');
      return;
    }
    expect(await runner.queue.wait('gone', { timeoutMs: 5_000 })).toMatchObject({
      status: 'failed',
      error: { code: 'JOB_INTERRUPTED' },
    });
    await sleep(200);
    expect(await records.get('alive')).toMatchObject({ status: 'running', runnerId: 'other' });
  });

  it('releases the leases of its running jobs on close, so that the next runner recovers them at once', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const first = createInProcessJobQueue({ storage, events: createEventBus(), leaseMs: 60_000 });
    await first.start();
    const started = deferred();
    first.register('long', (_input, context) => {
      started.resolve();
      return untilAborted(context.signal);
    });
    const job = await first.submit('long', {});
    await started.promise;
    const before = await first.get(job.id);
    expect(before?.leaseExpiresAt).toBeGreaterThan(Date.now() + 50_000);
    await first.close();
    const released = await storage.collection(JOBS_COLLECTION, JobSchema).get(job.id);
    expect(released).toMatchObject({ status: 'running', runnerId: first.runnerId });
    expect(released?.leaseExpiresAt).toBeLessThanOrEqual(Date.now());
    const second = await startRunner(storage, 'second', { leaseMs: 60_000 });
    second.queue.register('long', async () => 'again', { requeueOnRecovery: true });
    expect(await second.queue.wait(job.id, { timeoutMs: 5_000 })).toMatchObject({
      status: 'succeeded',
      runnerId: 'second',
      attempt: 2,
    });
  });

  it('rejects a lease or poll interval that is not a positive number', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const events = createEventBus();
    expect(() => createInProcessJobQueue({ storage, events, leaseMs: 0 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    expect(() => createInProcessJobQueue({ storage, events, pollIntervalMs: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    await storage.close();
  });
});
