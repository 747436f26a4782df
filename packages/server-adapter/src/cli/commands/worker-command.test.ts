import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Tunekit } from '@tunekit/core';
import {
  findRedisServer,
  REDIS_SERVER_MISSING_REASON,
  type RedisTestServer,
  startRedisServer,
} from '@tunekit/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCliContext } from '../testing/capture-cli-context.js';
import { startWorker } from './worker-command.js';

const missing = findRedisServer() === undefined ? REDIS_SERVER_MISSING_REASON : undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let redis: RedisTestServer | undefined;
let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-worker-command-'));
  if (missing === undefined) redis = await startRedisServer();
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe('tunekit worker', () => {
  it('refuses bad flags with a usage error', async () => {
    const context = captureCliContext(directory);
    for (const flags of [
      ['--concurrency', '0'],
      ['--kinds', ','],
      ['--device', 'gpu'],
    ]) {
      await expect(startWorker([...flags, '--health-port', '0'], context)).rejects.toMatchObject({
        name: 'CliUsageError',
      });
    }
  });

  describe.skipIf(missing !== undefined)(`on BullMQ${missing ? ` (skipped: ${missing})` : ''}`, () => {
    it('--kinds: runs only the named kinds; SIGTERM-style stop: /ready 503, the running job checkpoints and goes back to the queue', async () => {
      const env = {
        TUNEKIT_STORAGE_URL: (redis as RedisTestServer).url,
        TUNEKIT_QUEUE_ENGINE: 'bullmq',
        TUNEKIT_LEASE_MS: '4000',
        TUNEKIT_POLL_INTERVAL_MS: '200',
      };
      const worker = await startWorker(
        ['--kinds', 'echo,slow', '--health-port', '0', '--log-level', 'silent'],
        captureCliContext(directory, { env }),
      );
      let api: Tunekit | undefined;
      try {
        const readiness = async () => (await fetch(`${worker.healthUrl}/ready`)).status;
        expect(await readiness()).toBe(200);
        const stoppedWith: unknown[] = [];
        let readyWhileStopping: number | undefined;
        worker.kit.jobs.register('echo', async (input: { word: string }) => input);
        worker.kit.jobs.register('other', async () => 'must not run here');
        worker.kit.jobs.register('slow', async (_input, job) => {
          await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
          stoppedWith.push(job.signal.reason);
          readyWhileStopping = await readiness();
          throw job.signal.reason; // a training saves its checkpoint here
        });
        api = await createTunekit({
          storage: { driver: 'redis', url: env.TUNEKIT_STORAGE_URL },
          jobs: { engine: 'bullmq', work: false, pollIntervalMs: 200 },
        });
        for (const kind of ['echo', 'other', 'slow']) api.jobs.register(kind, async () => undefined);
        const echo = await api.jobs.submit('echo', { word: 'hi' });
        const other = await api.jobs.submit('other', {});
        expect(await api.jobs.wait(echo.id, { timeoutMs: 20_000 })).toMatchObject({
          status: 'succeeded',
          output: { word: 'hi' },
        });
        // `other` is not among --kinds: nobody runs it.
        await sleep(1000);
        expect((await api.jobs.get(other.id))?.status).toBe('queued');

        const slow = await api.jobs.submit('slow', {});
        while ((await api.jobs.get(slow.id))?.status !== 'running') await sleep(50);
        const health = (await (await fetch(`${worker.healthUrl}/health`)).json()) as { jobs: string[] };
        expect(health.jobs).toEqual([slow.id]);
        await worker.stop();
        expect(stoppedWith).toHaveLength(1);
        expect(stoppedWith[0]).toMatchObject({ code: 'KIT_CLOSED' });
        expect(readyWhileStopping).toBe(503);
        // Released: back in the queue for another worker, the attempt not used up as a failure.
        expect(await api.jobs.get(slow.id)).toMatchObject({ status: 'queued', attempt: 1 });
        await api.jobs.cancel(other.id);
        await api.jobs.cancel(slow.id);
      } finally {
        await worker.stop();
        await api?.close();
      }
    }, 60_000);
  });
});
