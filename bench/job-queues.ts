/**
 * Job runner figures: `BENCH_ONLY=job-queues npm run bench` (or `npx tsx bench/job-queues.ts`)
 * prints one JSON line per runner and figure:
 * - `jobs-per-second`: BENCH_JOBS (default 300) no-op jobs submitted at once from one kit and run
 *   by another (worker concurrency 8), from the first submit to the last one finished;
 * - `submit-to-start`: BENCH_LATENCY_JOBS (default 40) jobs one after the other on an idle queue,
 *   milliseconds from `submit` to the handler's first line (p50, p99, max);
 * - `progress-overhead`: one job of BENCH_PROGRESS_STEPS (default 300) steps that reports progress
 *   at every step, against the same job without progress, each timed on the worker from the
 *   handler's start to `job:succeeded` (best of three); the difference per step in milliseconds.
 *
 * Runners (BENCH_JOB_RUNNERS, comma-separated, default all): `in-process` (one kit on SQLite, the
 * embedded default), `lease-sqlite`, `lease-redis`, `lease-postgres` (the in-process runner of two
 * kits sharing one store, claiming jobs with compare-and-set leases and polling for them), `bullmq`
 * (Redis) and `pg-boss` (PostgreSQL), each with an API kit that only submits and a worker kit.
 * Every option is its default (poll intervals 1000 ms, leases 30 s). Redis and PostgreSQL are
 * started by the script (redis-server, PostgreSQL binaries); a runner whose server is missing is
 * skipped with its reason. Submitter and worker share this process, so they share its CPU.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Tunekit, type TunekitOptions } from '@tunekit/core';
import {
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  REDIS_SERVER_MISSING_REASON,
  type RedisTestServer,
  startPostgresServer,
  startRedisServer,
} from '@tunekit/core/testing';

const JOBS = Number(process.env.BENCH_JOBS ?? 300);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 40);
const PROGRESS_STEPS = Number(process.env.BENCH_PROGRESS_STEPS ?? 300);
const WORKER_CONCURRENCY = 8;
const RUNNERS = ['in-process', 'lease-sqlite', 'lease-redis', 'lease-postgres', 'bullmq', 'pg-boss'] as const;
type RunnerName = (typeof RUNNERS)[number];
const selected = (process.env.BENCH_JOB_RUNNERS?.split(',').map((name) => name.trim()) ??
  RUNNERS) as RunnerName[];

const directory = await mkdtemp(join(tmpdir(), 'tunekit-bench-jobs-'));
const needsRedis = selected.some((name) => name === 'lease-redis' || name === 'bullmq');
const needsPostgres = selected.some((name) => name === 'lease-postgres' || name === 'pg-boss');
const [redis, postgres] = await Promise.all([
  needsRedis ? startRedisServer() : undefined,
  needsPostgres ? startPostgresServer() : undefined,
]);

/** A submitting kit and a running kit (the same kit for `in-process`). */
interface Pair {
  submitter: Tunekit;
  worker: Tunekit;
  /** Registers a kind: runs in the worker; known to the submitter without running there. */
  register(kind: string, handler: Parameters<Tunekit['jobs']['register']>[1]): void;
  close(): Promise<void>;
}

let namespace = 0;
async function open(runner: RunnerName): Promise<Pair | string> {
  namespace += 1;
  const name = `bench_${process.pid}_${namespace}`;
  if (runner === 'in-process') {
    const kit = await createTunekit({
      dataDirectory: join(directory, name),
      jobs: { concurrency: WORKER_CONCURRENCY },
    });
    return {
      submitter: kit,
      worker: kit,
      register: (kind, handler) => kit.jobs.register(kind, handler),
      close: () => kit.close(),
    };
  }
  let storage: TunekitOptions['storage'];
  if (runner === 'lease-sqlite') storage = { driver: 'sqlite', path: join(directory, `${name}.sqlite`) };
  else if (runner === 'lease-redis' || runner === 'bullmq') {
    if (redis === undefined) return REDIS_SERVER_MISSING_REASON;
    storage = { driver: 'redis', url: `${(redis as RedisTestServer).url}/${namespace % 16}` };
  } else {
    if (postgres === undefined) return POSTGRES_SERVER_MISSING_REASON;
    storage = { driver: 'postgres', uri: (postgres as PostgresTestServer).uri, table: name };
  }
  const engine = runner === 'bullmq' || runner === 'pg-boss' ? runner : undefined;
  const jobs = { ...(engine ? { engine, prefix: name } : {}), concurrency: WORKER_CONCURRENCY };
  const submitter = await createTunekit({ storage, jobs: { ...jobs, ...(engine ? { work: false } : {}) } });
  const worker = await createTunekit({ storage, jobs });
  return {
    submitter,
    worker,
    register(kind, handler) {
      worker.jobs.register(kind, handler);
      // The lease runner runs what is submitted through a kit at once: concurrency 0 keeps it off the submitter.
      submitter.jobs.register(kind, handler, engine ? {} : { concurrency: 0 });
    },
    close: async () => {
      await submitter.close();
      await worker.close();
    },
  };
}

const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], fraction: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const print = (runner: RunnerName, figure: string, values: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      benchmark: 'job-queues',
      runner,
      figure,
      ...values,
      workerConcurrency: WORKER_CONCURRENCY,
      load1: round(loadavg()[0] as number),
      node: process.version,
    }),
  );

async function measure(runner: RunnerName, pair: Pair): Promise<void> {
  const started = new Map<string, number>();
  pair.register('noop', async (_input, job) => {
    started.set(job.jobId, performance.now());
    return null;
  });
  pair.register('steps', async (input: unknown, job) => {
    const { steps, progress } = input as { steps: number; progress: boolean };
    started.set(job.jobId, performance.now());
    for (let step = 1; step <= steps; step++) {
      if (progress) job.progress(step / steps, { message: `step ${step}`, metrics: { step } });
      await new Promise((resolve) => setImmediate(resolve));
    }
    return steps;
  });
  const { submitter } = pair;

  // Warm-up: connections, queues and prepared statements exist before anything is timed.
  for (let index = 0; index < 3; index++) {
    const job = await submitter.jobs.submit('noop', {});
    await submitter.jobs.wait(job.id, { timeoutMs: 60_000 });
  }

  // Throughput: JOBS no-op jobs at once.
  const begin = performance.now();
  const submitted = await Promise.all(Array.from({ length: JOBS }, () => submitter.jobs.submit('noop', {})));
  const submittedAt = performance.now();
  const finals = await Promise.all(
    submitted.map((job) => submitter.jobs.wait(job.id, { timeoutMs: 300_000 })),
  );
  const seconds = (performance.now() - begin) / 1000;
  const failed = finals.filter((job) => job.status !== 'succeeded').length;
  print(runner, 'jobs-per-second', {
    jobs: JOBS,
    jobsPerSecond: round(JOBS / seconds, 1),
    submitSeconds: round((submittedAt - begin) / 1000, 3),
    totalSeconds: round(seconds, 3),
    failed,
  });

  // Latency on an idle queue: one job at a time.
  const latencies: number[] = [];
  for (let index = 0; index < LATENCY_JOBS; index++) {
    const before = performance.now();
    const job = await submitter.jobs.submit('noop', {});
    await submitter.jobs.wait(job.id, { timeoutMs: 60_000 });
    latencies.push((started.get(job.id) as number) - before);
  }
  latencies.sort((a, b) => a - b);
  print(runner, 'submit-to-start', {
    jobs: LATENCY_JOBS,
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(latencies.at(-1) as number),
  });

  // Progress overhead: the same job with and without a progress report per step, timed on the
  // worker from the handler's first line to `job:succeeded` (the record written), so that pickup
  // latency and the submitter's polling stay out of it.
  const succeededAt = new Map<string, number>();
  pair.worker.events.on('job:succeeded', (event) => succeededAt.set(event.jobId, performance.now()));
  const duration = async (progress: boolean) => {
    const job = await submitter.jobs.submit('steps', { steps: PROGRESS_STEPS, progress });
    await submitter.jobs.wait(job.id, { timeoutMs: 120_000 });
    for (let tries = 0; !succeededAt.has(job.id) && tries < 100; tries++) await sleepMs(10);
    return (succeededAt.get(job.id) as number) - (started.get(job.id) as number);
  };
  const without = Math.min(await duration(false), await duration(false), await duration(false));
  const withProgress = Math.min(await duration(true), await duration(true), await duration(true));
  print(runner, 'progress-overhead', {
    steps: PROGRESS_STEPS,
    withoutMs: round(without),
    withProgressMs: round(withProgress),
    overheadPerStepMs: round((withProgress - without) / PROGRESS_STEPS, 3),
  });
}

try {
  for (const runner of selected) {
    if (!RUNNERS.includes(runner))
      throw new Error(`Unknown runner "${runner}" (known: ${RUNNERS.join(', ')})`);
    const pair = await open(runner);
    if (typeof pair === 'string') {
      console.log(JSON.stringify({ benchmark: 'job-queues', runner, skipped: pair }));
      continue;
    }
    try {
      await measure(runner, pair);
    } finally {
      await pair.close();
    }
  }
} finally {
  await Promise.all([redis?.stop(), postgres?.stop()]);
  await rm(directory, { recursive: true, force: true });
}
