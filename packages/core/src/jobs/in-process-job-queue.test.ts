import { afterEach, describe, expect, it } from 'vitest';
import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { EventEnvelope } from '../events/event-bus.js';
import { type Job, JobSchema } from '../schemas/job.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import {
  createInProcessJobQueue,
  type InProcessJobQueue,
  type InProcessJobQueueOptions,
} from './in-process-job-queue.js';

const opened: Array<{ queue: InProcessJobQueue; storage: Storage }> = [];

async function setup(options: Partial<InProcessJobQueueOptions> = {}) {
  const storage = options.storage ?? (await createStorage({ driver: 'memory' }));
  const events = createEventBus();
  const log: EventEnvelope[] = [];
  events.onAny((envelope) => log.push(envelope));
  const queue = createInProcessJobQueue({ storage, events, ...options });
  await queue.start();
  opened.push({ queue, storage });
  return { queue, storage, events, log };
}

afterEach(async () => {
  for (const { queue, storage } of opened.splice(0)) {
    await queue.close();
    await storage.close();
  }
});

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

describe('createInProcessJobQueue', () => {
  it('runs a job, persists its record and emits queued/started/progress/succeeded', async () => {
    const { queue, log } = await setup({ progressPersistIntervalMs: 0 });
    queue.register('double', async (input: { value: number }, context) => {
      context.progress(0.5, { message: 'half', metrics: { loss: 1.5 } });
      return { value: input.value * 2 };
    });
    const submitted = await queue.submit('double', { value: 21 }, { owner: 'ada' });
    expect(submitted).toMatchObject({ status: 'queued', attempt: 0, owner: 'ada', maxAttempts: 1 });
    const done = await queue.wait(submitted.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      output: { value: 42 },
      attempt: 1,
      progress: 1,
      progressMessage: 'half',
      metrics: { loss: 1.5 },
    });
    expect(done.startedAt).toBeDefined();
    expect(done.finishedAt).toBeDefined();
    expect(log.map((event) => event.name)).toEqual([
      'job:queued',
      'job:started',
      'job:progress',
      'job:succeeded',
    ]);
    expect((await queue.get(submitted.id))?.status).toBe('succeeded');
    const listed = await queue.list({ owner: 'ada', status: 'succeeded' });
    expect(listed.items.map((job) => job.id)).toEqual([submitted.id]);
    expect((await queue.list({ owner: 'bob' })).items).toEqual([]);
  });

  it('lists newest first with filters and cursor pages', async () => {
    const { queue } = await setup();
    queue.register('a', async () => 'a');
    queue.register('b', async () => 'b');
    const ids: string[] = [];
    for (const kind of ['a', 'b', 'a', 'a']) {
      const job = await queue.submit(kind, {});
      ids.push(job.id);
      await queue.wait(job.id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const first = await queue.list({ kind: 'a', limit: 2 });
    expect(first.items.map((job) => job.id)).toEqual([ids[3], ids[2]]);
    expect(first.nextCursor).toBeDefined();
    const second = await queue.list({ kind: 'a', limit: 2, cursor: first.nextCursor });
    expect(second.items.map((job) => job.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeUndefined();
    expect((await queue.list({ kind: 'b' })).items.map((job) => job.id)).toEqual([ids[1]]);
  });

  it('rejects an unknown kind with JOB_UNKNOWN_KIND and a second handler for a kind with CONFLICT', async () => {
    const { queue } = await setup();
    queue.register('known', async () => 1);
    await expect(queue.submit('unknown', {})).rejects.toMatchObject({ code: 'JOB_UNKNOWN_KIND' });
    expect(() => queue.register('known', async () => 2)).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
  });

  it('retries with exponential backoff and succeeds on a later attempt', async () => {
    const { queue, log } = await setup();
    const attempts: number[] = [];
    queue.register('flaky', async (_input, context) => {
      attempts.push(Date.now());
      if (context.attempt < 3) {
        throw new Error(`boom ${context.attempt}`);
      }
      return context.attempt;
    });
    const job = await queue.submit('flaky', {}, { maxAttempts: 4, backoffMs: 40 });
    const done = await queue.wait(job.id);
    expect(done).toMatchObject({ status: 'succeeded', output: 3, attempt: 3 });
    const retries = log.filter((event) => event.name === 'job:retrying').map((event) => event.payload);
    expect(retries).toEqual([
      { jobId: job.id, kind: 'flaky', attempt: 1, delayMs: 40, error: 'boom 1' },
      { jobId: job.id, kind: 'flaky', attempt: 2, delayMs: 80, error: 'boom 2' },
    ]);
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(38);
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(78);
  });

  it('fails after the last attempt with the error code, and honours retryable: false', async () => {
    const { queue } = await setup();
    queue.register('always', async () => {
      throw tunekitError('NOT_FOUND', 'gone');
    });
    const job = await queue.submit('always', {}, { maxAttempts: 2, backoffMs: 1 });
    expect(await queue.wait(job.id)).toMatchObject({
      status: 'failed',
      attempt: 2,
      error: { code: 'NOT_FOUND', message: 'gone' },
    });
    let calls = 0;
    queue.register('fatal', async () => {
      calls += 1;
      throw tunekitError('VALIDATION_FAILED', 'bad input', { retryable: false });
    });
    const fatal = await queue.submit('fatal', {}, { maxAttempts: 5, backoffMs: 1 });
    expect(await queue.wait(fatal.id)).toMatchObject({ status: 'failed', attempt: 1 });
    expect(calls).toBe(1);
  });

  it('cancels a running job through its AbortSignal and a queued one before it starts', async () => {
    const { queue, log } = await setup({ concurrency: 1 });
    const started = deferred();
    let sawAbort: unknown;
    queue.register('long', async (_input, context) => {
      started.resolve();
      try {
        return await untilAborted(context.signal);
      } catch (error) {
        sawAbort = error;
        throw error;
      }
    });
    const running = await queue.submit('long', {});
    const waiting = await queue.submit('long', {});
    await started.promise;
    const cancelled = await queue.cancel(running.id, 'user changed their mind');
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { code: 'JOB_CANCELLED' } });
    expect((sawAbort as TunekitError).code).toBe('JOB_CANCELLED');
    // The slot freed: the second job starts, and cancelling it works too.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await queue.get(waiting.id))?.status).toBe('running');
    await queue.cancel(waiting.id);
    const fourth = await queue.submit('long', {});
    const third = await queue.submit('long', {});
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await queue.get(fourth.id))?.status).toBe('running');
    expect(await queue.cancel(third.id)).toMatchObject({ status: 'cancelled', attempt: 0 });
    await queue.cancel(fourth.id);
    await expect(queue.cancel(third.id)).rejects.toMatchObject({ code: 'JOB_NOT_CANCELLABLE' });
    await expect(queue.cancel('nope')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(log.filter((event) => event.name === 'job:cancelled')).toHaveLength(4);
  });

  it('fails a job that exceeds its timeout with JOB_TIMEOUT even when the handler ignores the signal', async () => {
    const { queue } = await setup();
    let aborted = false;
    queue.register(
      'slow',
      async (_input, context) => {
        context.signal.addEventListener('abort', () => {
          aborted = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      },
      { timeoutMs: 50 },
    );
    const startedAt = Date.now();
    const job = await queue.submit('slow', {});
    const done = await queue.wait(job.id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'JOB_TIMEOUT' } });
    expect(Date.now() - startedAt).toBeLessThan(1_500);
    expect(aborted).toBe(true);
  });

  it('runs higher priority first, then oldest first, within the concurrency limit', async () => {
    const { queue } = await setup({ concurrency: 2 });
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const gate = deferred();
    queue.register('step', async (input: { name: string }) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      if (input.name.startsWith('blocker')) {
        await gate.promise;
      }
      order.push(input.name);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
    });
    const submitted = [
      await queue.submit('step', { name: 'blocker1' }),
      await queue.submit('step', { name: 'blocker2' }),
      await queue.submit('step', { name: 'low' }, { priority: -5 }),
      await queue.submit('step', { name: 'normal-a' }),
      await queue.submit('step', { name: 'high' }, { priority: 10 }),
      await queue.submit('step', { name: 'normal-b' }),
    ];
    gate.resolve();
    await Promise.all(submitted.map((job) => queue.wait(job.id)));
    expect(order.slice(2)).toEqual(['high', 'normal-a', 'normal-b', 'low']);
    expect(maxRunning).toBe(2);
  });

  it('limits a kind to its own concurrency', async () => {
    const { queue } = await setup({ concurrency: 4 });
    let running = 0;
    let maxRunning = 0;
    queue.register(
      'slow',
      async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 10));
        running -= 1;
      },
      { concurrency: 1 },
    );
    const jobs = await Promise.all([1, 2, 3].map(() => queue.submit('slow', {})));
    await Promise.all(jobs.map((job) => queue.wait(job.id)));
    expect(maxRunning).toBe(1);
  });

  it('persists progress throttled (first at once, then one trailing write) while emitting every update', async () => {
    const memory = await createStorage({ driver: 'memory' });
    // Records every progress value the queue writes to the jobs collection.
    const written: number[] = [];
    const storage: Storage = {
      collection(name, schema) {
        const collection = memory.collection(name, schema);
        return {
          ...collection,
          get: collection.get.bind(collection),
          list: collection.list.bind(collection),
          set: collection.set.bind(collection),
          update: (id, updater) =>
            collection.update(id, async (current) => {
              const next = await updater(current);
              const job = next as unknown as Job;
              if (job.status === 'running' && job.progress !== (current as unknown as Job).progress) {
                written.push(job.progress);
              }
              return next;
            }),
        };
      },
      close: () => memory.close(),
    };
    const { queue, log } = await setup({ storage, progressPersistIntervalMs: 80 });
    const finish = deferred();
    const reported = deferred();
    queue.register('report', async (_input, context) => {
      for (let step = 1; step <= 10; step += 1) {
        context.progress(step / 10, { metrics: { step } });
      }
      reported.resolve();
      await finish.promise;
    });
    const job = await queue.submit('report', {});
    await reported.promise;
    expect((await queue.get(job.id))?.progress).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(written).toEqual([0.1, 1]);
    const stored = await memory.collection('jobs', JobSchema).get(job.id);
    expect(stored).toMatchObject({ status: 'running', progress: 1, metrics: { step: 10 } });
    expect(log.filter((event) => event.name === 'job:progress')).toHaveLength(10);
    finish.resolve();
    await queue.wait(job.id);
  });

  it('wait honours its own timeout and AbortSignal; closed queue refuses with KIT_CLOSED', async () => {
    const { queue } = await setup();
    queue.register('never', (_input, context) => untilAborted(context.signal));
    const job = await queue.submit('never', {});
    await expect(queue.wait(job.id, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'JOB_TIMEOUT' });
    const controller = new AbortController();
    const waiting = queue.wait(job.id, { signal: controller.signal });
    controller.abort(new Error('stop waiting'));
    await expect(waiting).rejects.toThrow('stop waiting');
    await expect(queue.wait('missing')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    const pendingWait = queue.wait(job.id);
    await queue.close();
    await expect(pendingWait).rejects.toMatchObject({ code: 'KIT_CLOSED' });
    // Closing aborted the handler but left the record running for recovery.
    expect((await queue.get(job.id))?.status).toBe('running');
    await expect(queue.submit('never', {})).rejects.toMatchObject({ code: 'KIT_CLOSED' });
  });

  it('recovers running jobs on start: failed with JOB_INTERRUPTED, or re-queued per kind option', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const first = createInProcessJobQueue({ storage, events: createEventBus() });
    await first.start();
    first.register('fragile', (_input, context) => untilAborted(context.signal));
    first.register('resumable', (_input, context) => untilAborted(context.signal), {
      requeueOnRecovery: true,
    });
    const fragile = await first.submit('fragile', {});
    const resumable = await first.submit('resumable', { epoch: 3 });
    const queuedOnly = await first.submit('resumable', { epoch: 4 }, { priority: -1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await first.close();

    const { queue, log } = await setup({ storage });
    expect((await queue.get(fragile.id))?.status).toBe('running');
    queue.register('fragile', async () => 'unused');
    const recoveredRuns: unknown[] = [];
    queue.register(
      'resumable',
      async (input, context) => {
        recoveredRuns.push({ input, attempt: context.attempt });
        return 'resumed';
      },
      { requeueOnRecovery: true },
    );
    expect(await queue.wait(fragile.id)).toMatchObject({
      status: 'failed',
      error: { code: 'JOB_INTERRUPTED' },
    });
    expect(await queue.wait(resumable.id)).toMatchObject({
      status: 'succeeded',
      output: 'resumed',
      attempt: 2,
    });
    expect(await queue.wait(queuedOnly.id)).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(recoveredRuns).toEqual([
      { input: { epoch: 3 }, attempt: 2 },
      { input: { epoch: 4 }, attempt: 1 },
    ]);
    expect(log.find((event) => event.name === 'job:failed')?.payload).toMatchObject({
      code: 'JOB_INTERRUPTED',
    });
  });

  it('resumes only the named interrupted job (recover off), and a cancelled one, with attempt > 1', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const first = createInProcessJobQueue({ storage, events: createEventBus() });
    await first.start();
    first.register('resumable', (_input, context) => untilAborted(context.signal), {
      requeueOnRecovery: true,
    });
    const named = await first.submit('resumable', { name: 'named' });
    const other = await first.submit('resumable', { name: 'other' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await first.close();

    const { queue } = await setup({ storage, recover: false });
    const runs: unknown[] = [];
    let checkpointSaved = false;
    const release = deferred();
    queue.register(
      'resumable',
      async (input: { name: string }, context) => {
        runs.push({ name: input.name, attempt: context.attempt });
        if (input.name === 'cancel-me' && context.attempt === 1) {
          // Like the trainer: on abort, it still saves a checkpoint before it returns.
          await untilAborted(context.signal).catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 150));
          checkpointSaved = true;
          throw new Error('cancelled');
        }
        if (input.name === 'cancel-me') return `resumed with checkpoint: ${checkpointSaved}`;
        await release.promise;
        return input.name;
      },
      { requeueOnRecovery: true },
    );
    const resumed = await queue.resume(named.id);
    expect(resumed).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 2 });
    // Running here (live lease): not resumable a second time.
    await expect.poll(() => runs.length).toBe(1);
    await expect(queue.resume(named.id)).rejects.toMatchObject({ code: 'JOB_NOT_RESUMABLE' });
    release.resolve();
    expect(await queue.wait(named.id)).toMatchObject({ status: 'succeeded', attempt: 2, output: 'named' });
    // The other interrupted job was left alone.
    expect((await queue.get(other.id))?.status).toBe('running');
    expect(runs).toEqual([{ name: 'named', attempt: 2 }]);

    const cancelMe = await queue.submit('resumable', { name: 'cancel-me' });
    await expect.poll(() => runs.length).toBe(2);
    await queue.cancel(cancelMe.id);
    expect(await queue.resume(cancelMe.id)).toMatchObject({ status: 'queued' });
    // The resume waited for the stopped handler's checkpoint.
    expect(await queue.wait(cancelMe.id)).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      output: 'resumed with checkpoint: true',
    });
    expect((await queue.get(cancelMe.id))?.error).toBeUndefined();

    await expect(queue.resume(cancelMe.id)).rejects.toMatchObject({
      code: 'JOB_NOT_RESUMABLE',
      status: 409,
      details: { status: 'succeeded' },
    });
    await expect(queue.resume('no-such-job')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });
});
