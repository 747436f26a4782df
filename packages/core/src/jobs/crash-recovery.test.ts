import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTunekit } from '../kit/create-tunekit.js';

const worker = fileURLToPath(new URL('./test-fixtures/crash-worker.ts', import.meta.url));
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

/** Starts the worker (node --import tsx, so that SIGKILL hits the process that runs the jobs). */
function startWorker(
  dataDirectory: string,
  jobOptions: Record<string, unknown> = {},
): {
  child: ChildProcess;
  ready: Promise<{ jobs: { fragile: string; resumable: string } }>;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', worker, dataDirectory, JSON.stringify(jobOptions)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const ready = new Promise<{ jobs: { fragile: string; resumable: string } }>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += String(chunk);
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) {
        resolve(JSON.parse(line));
      }
    });
    child.on('exit', (code, signal) =>
      reject(new Error(`worker exited (${code ?? signal}) before ready: ${stderr}`)),
    );
  });
  return { child, ready };
}

describe('crash recovery', () => {
  it('a new kit on the same SQLite file fails or re-queues the jobs a SIGKILLed process left running', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-crash-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    // On Linux the new kit sees at once that the worker process is gone; elsewhere it has to wait
    // for the worker's lease to lapse, so keep that short there.
    const jobOptions = process.platform === 'linux' ? {} : { leaseMs: 1_000 };
    const { child, ready } = startWorker(directory, jobOptions);
    const { jobs } = await ready;
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // A new kit on the same data directory (the same SQLite file).
    const kit = await createTunekit({ dataDirectory: directory, jobs: jobOptions });
    cleanups.push(() => kit.close());
    const queue = kit.jobs;
    const before = await queue.get(jobs.fragile);
    expect(before).toMatchObject({ status: 'running', progress: 0.25, attempt: 1 });

    queue.register('fragile', async () => 'must not run');
    const resumedInputs: unknown[] = [];
    queue.register(
      'resumable',
      async (input, context) => {
        resumedInputs.push({ input, attempt: context.attempt });
        return 'resumed';
      },
      { requeueOnRecovery: true },
    );
    const failed = await queue.wait(jobs.fragile, { timeoutMs: 10_000 });
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('JOB_INTERRUPTED');
    expect(failed.error?.message).toContain('attempt 1');
    const resumed = await queue.wait(jobs.resumable, { timeoutMs: 10_000 });
    expect(resumed).toMatchObject({ status: 'succeeded', output: 'resumed', attempt: 2 });
    expect(resumedInputs).toEqual([{ input: { step: 'b' }, attempt: 2 }]);
  });

  const linux = process.platform === 'linux';
  it.skipIf(!linux)(
    `a live kit on the same SQLite file leaves a live process's jobs alone and recovers them once it is SIGKILLed${linux ? '' : ' (skipped: needs Linux PID namespaces)'}`,
    async () => {
      const directory = await mkdtemp(join(tmpdir(), 'tunekit-crash-'));
      cleanups.push(() => rm(directory, { recursive: true, force: true }));
      // The worker holds its jobs with a lease of a minute: only its death can free them early.
      const { child, ready } = startWorker(directory, { leaseMs: 60_000 });
      const { jobs } = await ready;

      const kit = await createTunekit({
        dataDirectory: directory,
        jobs: { leaseMs: 300, pollIntervalMs: 50 },
      });
      cleanups.push(() => kit.close());
      const queue = kit.jobs;
      const calls: string[] = [];
      queue.register('fragile', async () => {
        calls.push('fragile');
        return 'must not run';
      });
      queue.register(
        'resumable',
        async (_input, context) => {
          calls.push(`resumable attempt ${context.attempt}`);
          return 'resumed';
        },
        { requeueOnRecovery: true },
      );
      // Several of this kit's recovery checks (one per lease) pass while the worker lives.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const held = await queue.get(jobs.fragile);
      expect(held).toMatchObject({ status: 'running', progress: 0.25, attempt: 1 });
      expect(held?.runnerProcess?.pid).toBe(child.pid);
      expect(calls).toEqual([]);

      const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const killedAt = Date.now();
      const failed = await queue.wait(jobs.fragile, { timeoutMs: 10_000 });
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'JOB_INTERRUPTED' } });
      // Far sooner than the worker's 60 s lease: this kit saw that the process is gone.
      expect(Date.now() - killedAt).toBeLessThan(5_000);
      expect(await queue.wait(jobs.resumable, { timeoutMs: 10_000 })).toMatchObject({
        status: 'succeeded',
        attempt: 2,
      });
      expect(calls).toEqual(['resumable attempt 2']);
    },
  );
});
