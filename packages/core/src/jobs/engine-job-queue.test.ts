import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { createTunekit } from '../kit/create-tunekit.js';
import type { Tunekit } from '../kit/tunekit.js';
import type { TunekitOptions } from '../kit/tunekit-options.js';
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

const hasRedis = findRedisServer() !== undefined;
const hasPostgres = findPostgresBinaries() !== undefined;
let redis: RedisTestServer | undefined;
let postgres: PostgresTestServer | undefined;
beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

const engines = [
  {
    engine: 'bullmq' as const,
    skipReason: hasRedis ? undefined : REDIS_SERVER_MISSING_REASON,
    options: (prefix: string): TunekitOptions => ({
      storage: { driver: 'redis', url: (redis as RedisTestServer).url },
      jobs: { engine: 'bullmq', prefix, leaseMs: 2_000, pollIntervalMs: 200, progressPersistIntervalMs: 100 },
    }),
  },
  {
    engine: 'pg-boss' as const,
    skipReason: hasPostgres ? undefined : POSTGRES_SERVER_MISSING_REASON,
    options: (prefix: string): TunekitOptions => ({
      storage: { driver: 'postgres', uri: (postgres as PostgresTestServer).uri, table: prefix },
      jobs: {
        engine: 'pg-boss',
        prefix,
        leaseMs: 2_000,
        pollIntervalMs: 500,
        progressPersistIntervalMs: 100,
      },
    }),
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const { engine, skipReason, options } of engines) {
  const title = (name: string) => `${name}${skipReason ? ` (skipped: ${skipReason})` : ''}`;
  let counter = 0;
  /** An API kit (submits only) and a worker kit on one store and one engine namespace. */
  const pair = async (workerJobs: NonNullable<TunekitOptions['jobs']> = {}) => {
    counter += 1;
    const base = options(`tk_${engine.replace('-', '_')}_${process.pid}_${counter}`);
    const api = await createTunekit({ ...base, jobs: { ...base.jobs, work: false } });
    const worker = await createTunekit({ ...base, jobs: { ...base.jobs, ...workerJobs } });
    return { api, worker, close: () => Promise.all([api.close(), worker.close()]) };
  };

  describe.skipIf(skipReason !== undefined)(`jobs on ${engine}`, () => {
    it(title(
      'runs a job submitted by another kit: progress relayed, output in the shared record',
    ), async () => {
      const { api, worker, close } = await pair();
      try {
        const ran: string[] = [];
        worker.jobs.register('echo', async (input: { word: string }, job) => {
          ran.push(job.jobId);
          for (let step = 1; step <= 3; step++) {
            await sleep(150);
            job.progress(step / 3, { message: `step ${step}`, metrics: { step } });
          }
          return { echoed: input.word };
        });
        api.jobs.register('echo', async () => {
          throw new Error('the API kit must not run jobs');
        });
        const relayed: number[] = [];
        api.events.on('job:progress', (payload) => relayed.push(payload.progress));
        const job = await api.jobs.submit('echo', { word: 'hi' }, { owner: 'ada' });
        const done = await api.jobs.wait(job.id, { timeoutMs: 20_000 });
        expect(done).toMatchObject({
          status: 'succeeded',
          output: { echoed: 'hi' },
          attempt: 1,
          progress: 1,
        });
        expect(done.runnerId).toBe((worker.jobs as unknown as { runnerId: string }).runnerId);
        expect(ran).toEqual([job.id]);
        // Progress that ran in the worker kit arrived on the API kit's bus.
        expect(relayed.length).toBeGreaterThan(0);
        expect((await api.jobs.list({ owner: 'ada' })).items.map((item) => item.id)).toEqual([job.id]);
      } finally {
        await close();
      }
    }, 40_000);

    it(title(
      'cancels a job running on another kit: its signal aborts and the record stays cancelled',
    ), async () => {
      const { api, worker, close } = await pair();
      try {
        let aborted: unknown;
        let started = false;
        worker.jobs.register('slow', async (_input, job) => {
          started = true;
          await new Promise<void>((resolve) =>
            job.signal.addEventListener('abort', () => {
              aborted = job.signal.reason;
              resolve();
            }),
          );
          return 'finished anyway';
        });
        api.jobs.register('slow', async () => undefined);
        const job = await api.jobs.submit('slow', {});
        while (!started) await sleep(50);
        const cancelled = await api.jobs.cancel(job.id, 'no longer needed');
        expect(cancelled.status).toBe('cancelled');
        for (let tries = 0; aborted === undefined && tries < 100; tries++) await sleep(50);
        expect(TunekitError.isInstance(aborted) && aborted.code).toBe('JOB_CANCELLED');
        await sleep(300);
        const after = await api.jobs.get(job.id);
        expect(after?.status).toBe('cancelled');
        expect(after?.output).toBeUndefined();
        await expect(api.jobs.cancel(job.id)).rejects.toMatchObject({ code: 'JOB_NOT_CANCELLABLE' });
      } finally {
        await close();
      }
    }, 40_000);

    it(title(
      'retries a failed attempt with backoff, fails for good when attempts run out, and times out',
    ), async () => {
      const { api, worker, close } = await pair();
      try {
        const attempts = new Map<string, number>();
        worker.jobs.register('flaky', async (input: { failures: number }, job) => {
          attempts.set(job.jobId, job.attempt);
          if (job.attempt <= input.failures) throw new Error(`failure ${job.attempt}`);
          return { attempt: job.attempt };
        });
        worker.jobs.register(
          'stuck',
          (_input, job) => new Promise((resolve) => job.signal.addEventListener('abort', resolve)),
        );
        api.jobs.register('flaky', async () => undefined);
        api.jobs.register('stuck', async () => undefined);
        const retried = await api.jobs.submit('flaky', { failures: 1 }, { maxAttempts: 3, backoffMs: 100 });
        const exhausted = await api.jobs.submit('flaky', { failures: 5 }, { maxAttempts: 2, backoffMs: 100 });
        const timedOut = await api.jobs.submit('stuck', {}, { timeoutMs: 300 });
        expect(await api.jobs.wait(retried.id, { timeoutMs: 20_000 })).toMatchObject({
          status: 'succeeded',
          attempt: 2,
          output: { attempt: 2 },
        });
        expect(await api.jobs.wait(exhausted.id, { timeoutMs: 20_000 })).toMatchObject({
          status: 'failed',
          attempt: 2,
          error: { message: 'failure 2' },
        });
        expect(await api.jobs.wait(timedOut.id, { timeoutMs: 20_000 })).toMatchObject({
          status: 'failed',
          error: { code: 'JOB_TIMEOUT' },
        });
        expect(attempts.get(exhausted.id)).toBe(2);
      } finally {
        await close();
      }
    }, 40_000);

    it(title(
      'runs higher priorities first and never more jobs at once than the worker concurrency',
    ), async () => {
      const { api, worker, close } = await pair({ concurrency: 1 });
      try {
        const order: string[] = [];
        let running = 0;
        let most = 0;
        let release: () => void = () => {};
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        worker.jobs.register('ordered', async (input: { name: string }) => {
          running += 1;
          most = Math.max(most, running);
          order.push(input.name);
          if (input.name === 'first') await gate;
          await sleep(20);
          running -= 1;
          return input.name;
        });
        api.jobs.register('ordered', async () => undefined);
        const first = await api.jobs.submit('ordered', { name: 'first' });
        while (order.length === 0) await sleep(20);
        const low = await api.jobs.submit('ordered', { name: 'low' }, { priority: 1 });
        const high = await api.jobs.submit('ordered', { name: 'high' }, { priority: 10 });
        release();
        for (const job of [first, low, high]) await api.jobs.wait(job.id, { timeoutMs: 20_000 });
        expect(order).toEqual(['first', 'high', 'low']);
        expect(most).toBe(1);
      } finally {
        await close();
      }
    }, 40_000);

    it(title(
      'a job that runs longer than three leases stays with its worker: one run, attempt 1, no redelivery',
    ), async () => {
      // The lease is renewed while the handler runs; a training lasts far longer than a lease. The
      // worker polls slowly and a second worker quickly: a job given up by the first would go to the second.
      const { api, worker, close } = await pair({ concurrency: 1, pollIntervalMs: 5_000 });
      counter += 0;
      const other = await createTunekit(options(`tk_${engine.replace('-', '_')}_${process.pid}_${counter}`));
      try {
        const runs: string[] = [];
        const handler = async (_input: unknown, job: { jobId: string; signal: AbortSignal }) => {
          runs.push(job.jobId);
          await sleep(6_500);
          if (job.signal.aborted) throw new Error('aborted: the job was taken away');
          return 'done';
        };
        worker.jobs.register('long', handler);
        api.jobs.register('long', async () => undefined);
        const job = await api.jobs.submit('long', {});
        while (runs.length === 0) await sleep(20);
        other.jobs.register('long', handler);
        expect(await api.jobs.wait(job.id, { timeoutMs: 30_000 })).toMatchObject({
          status: 'succeeded',
          attempt: 1,
          output: 'done',
        });
        expect(runs).toEqual([job.id]);
      } finally {
        await other.close();
        await close();
      }
    }, 40_000);

    it(title(
      'resumes a cancelled running job and a failed one as new engine jobs: attempt 2 continues from the checkpoint, its relayed progress tagged attempt 2',
    ), async () => {
      const { api, worker, close } = await pair();
      try {
        // The handler's "checkpoint store", shared by both kits of this process (a training keeps it in S3).
        const checkpoints = new Map<string, number>();
        const runs: Array<{ jobId: string; attempt: number; steps: number[]; ended: boolean }> = [];
        const handler = async (
          input: { steps: number },
          job: {
            jobId: string;
            attempt: number;
            signal: AbortSignal;
            progress(value: number, update?: { metrics?: Record<string, number> }): void;
          },
        ) => {
          const run = { jobId: job.jobId, attempt: job.attempt, steps: [] as number[], ended: false };
          runs.push(run);
          try {
            const from = job.attempt > 1 ? (checkpoints.get(job.jobId) ?? 0) : 0;
            for (let step = from + 1; step <= input.steps; step++) {
              await sleep(100);
              if (job.signal.aborted) throw job.signal.reason;
              run.steps.push(step);
              checkpoints.set(job.jobId, step);
              job.progress(step / input.steps, { metrics: { step } });
            }
            return { last: input.steps };
          } finally {
            run.ended = true;
          }
        };
        worker.jobs.register('steps', handler);
        api.jobs.register('steps', async () => undefined);
        // Progress relayed to the API kit, with the attempt of the run that reported it.
        const relayed: Array<{ step?: number; attempt?: number }> = [];
        api.events.on('job:progress', (payload) =>
          relayed.push({ step: payload.metrics?.step, attempt: payload.attempt }),
        );
        const job = await api.jobs.submit('steps', { steps: 8 });
        while ((checkpoints.get(job.id) ?? 0) < 3) await sleep(20);
        expect((await api.jobs.cancel(job.id)).status).toBe('cancelled');
        // The worker sees the cancel at its next read and its handler stops at its next step.
        while (!runs[0]?.ended) await sleep(20);
        const stoppedAt = checkpoints.get(job.id) as number;
        expect(stoppedAt).toBeLessThan(8);

        const resumed = await api.jobs.resume(job.id);
        expect(resumed).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 2 });
        expect(resumed.engineJobId).toBeDefined();
        expect(resumed.engineJobId).not.toBe(job.id);
        expect(await api.jobs.wait(job.id, { timeoutMs: 20_000 })).toMatchObject({
          status: 'succeeded',
          attempt: 2,
          output: { last: 8 },
        });
        const second = runs.filter((run) => run.jobId === job.id);
        expect(second.map((run) => run.attempt)).toEqual([1, 2]);
        // Attempt 2 continued after the checkpoint attempt 1 left, to the end.
        expect(second[1]?.steps[0]).toBe(stoppedAt + 1);
        expect(second[1]?.steps.at(-1)).toBe(8);
        // An API that follows the job tells the two runs' progress apart by its attempt.
        const stepsOf = (attempt: number) =>
          relayed.filter((event) => event.attempt === attempt).map((event) => event.step);
        expect(relayed.every((event) => event.attempt === 1 || event.attempt === 2)).toBe(true);
        expect(stepsOf(1).length).toBeGreaterThan(0);
        expect(Math.max(...(stepsOf(1) as number[]))).toBeLessThanOrEqual(stoppedAt);
        expect(stepsOf(2)[0]).toBe(stoppedAt + 1);
        await expect.poll(() => stepsOf(2).at(-1), { timeout: 5_000 }).toBe(8);
        await expect(api.jobs.resume(job.id)).rejects.toMatchObject({ code: 'JOB_NOT_RESUMABLE' });

        // A job that failed for good resumes too.
        let failFirst = true;
        worker.jobs.register('flaky', async (_input, context) => {
          if (failFirst) {
            failFirst = false;
            throw tunekitError('INTERNAL', 'the disk was full', { retryable: false });
          }
          return { attempt: context.attempt };
        });
        api.jobs.register('flaky', async () => undefined);
        const flaky = await api.jobs.submit('flaky', {});
        expect(await api.jobs.wait(flaky.id, { timeoutMs: 20_000 })).toMatchObject({ status: 'failed' });
        await api.jobs.resume(flaky.id);
        expect(await api.jobs.wait(flaky.id, { timeoutMs: 20_000 })).toMatchObject({
          status: 'succeeded',
          attempt: 2,
          output: { attempt: 2 },
        });
        // A queued job is not resumable (it will run), nor an unknown one.
        api.jobs.register('unworked', async () => undefined);
        const waiting = await api.jobs.submit('unworked', {});
        await expect(api.jobs.resume(waiting.id)).rejects.toMatchObject({ code: 'JOB_NOT_RESUMABLE' });
        await api.jobs.cancel(waiting.id);
        await expect(api.jobs.resume('no-such-job')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
      } finally {
        await close();
      }
    }, 60_000);

    it(title(
      'a worker that shuts down gives its running job back; another worker resumes it as attempt 2',
    ), async () => {
      const { api, worker, close } = await pair();
      counter += 0;
      const base = options(`tk_${engine.replace('-', '_')}_${process.pid}_${counter}`);
      let second: Tunekit | undefined;
      try {
        const seen: Array<{ attempt: number; stopped: boolean }> = [];
        const handler = async (_input: unknown, job: { attempt: number; signal: AbortSignal }) => {
          const entry = { attempt: job.attempt, stopped: false };
          seen.push(entry);
          if (job.attempt === 1) {
            await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
            entry.stopped = true; // a training would checkpoint its step here
            throw new Error('stopped');
          }
          return { resumedAt: job.attempt };
        };
        worker.jobs.register('resumable', handler);
        api.jobs.register('resumable', async () => undefined);
        const job = await api.jobs.submit('resumable', {});
        while (seen.length === 0) await sleep(20);
        await worker.close();
        expect(seen[0]?.stopped).toBe(true);
        expect((await api.jobs.get(job.id))?.status).toBe('queued');
        second = await createTunekit(base);
        second.jobs.register('resumable', handler);
        expect(await api.jobs.wait(job.id, { timeoutMs: 20_000 })).toMatchObject({
          status: 'succeeded',
          attempt: 2,
          output: { resumedAt: 2 },
        });
      } finally {
        await second?.close();
        await close();
      }
    }, 40_000);
  });
}
