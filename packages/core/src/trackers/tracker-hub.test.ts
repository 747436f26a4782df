import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalTracker } from './local-tracker.js';
import { createTestBus } from './test-servers/test-event-bus.js';
import { createTrackerHub } from './tracker-hub.js';

describe('tracker hub', () => {
  it('fans out to several trackers; a throwing tracker never affects the others or the emitter', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-hub-'));
    const events = createTestBus();
    const hub = createTrackerHub({ events, retry: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } });
    const local = createLocalTracker({ directory });
    hub.add('local', local);
    hub.add('broken', {
      kind: 'broken',
      startRun: async () => {
        throw new Error('boom');
      },
    });
    expect(() => hub.add('local', local)).toThrowError(/already registered/);
    expect(hub.list()).toEqual([
      { name: 'local', kind: 'local' },
      { name: 'broken', kind: 'broken' },
    ]);
    events.emit('training:started', { jobId: 'job-9', params: { a: 1 } });
    events.emit('training:step', {
      jobId: 'job-9',
      step: 1,
      epoch: 0,
      loss: 2,
      learningRate: 0.1,
      gradientNorm: 3,
    });
    events.emit('job:failed', { jobId: 'job-9', kind: 'train', durationMs: 5, error: 'out of memory' });
    expect(await hub.flush({ timeoutMs: 2000 })).toEqual({ complete: true, pending: 0 });
    const [run] = await local.listRuns();
    expect(run).toMatchObject({
      experiment: 'tunekit',
      name: 'job-9',
      status: 'failed',
      tags: { 'tunekit.job_id': 'job-9' },
    });
    const metrics = await local.readMetrics(run.id);
    expect(metrics.map((metric) => metric.key).sort()).toEqual([
      'epoch',
      'gradient_norm',
      'learning_rate',
      'loss',
    ]);
    expect((await readFile(join(directory, run.id, 'logs.jsonl'), 'utf8')).trim()).toContain('out of memory');
    // 3 attempts on the broken start (2 retried, 1 dropped), then its later operations are skipped.
    expect(events.warnings.map((warning) => warning.details?.retryable)).toEqual([true, true, false]);
    const broken = hub.stats().find((stats) => stats.name === 'broken')!;
    expect(broken).toMatchObject({ failedAttempts: 3, queuedOperations: 0 });
    expect(broken.droppedOperations).toBe(5);
    await hub.close();
  });

  it('bounds the queue while a tracker is down and close() respects its deadline', async () => {
    const events = createTestBus();
    let calls = 0;
    const hub = createTrackerHub({
      events,
      batchSize: 10,
      maxQueuedMetrics: 100,
      retry: { initialDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    hub.add('down', {
      kind: 'down',
      startRun: async () => {
        calls += 1;
        throw new Error('connection refused');
      },
    });
    const run = hub.startRun({ key: 'manual', experiment: 'e' });
    for (let step = 0; step < 1000; step += 1) run.logMetrics([{ key: 'loss', value: step, step }]);
    const stats = hub.stats()[0];
    expect(stats.queuedMetrics).toBeLessThanOrEqual(110);
    expect(stats.droppedMetrics).toBeGreaterThanOrEqual(890);
    expect(events.warnings.some((warning) => warning.message.includes('queue bound'))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first start failed and waits 10 s
    expect(calls).toBe(1);
    const started = Date.now();
    const result = await hub.close({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.complete).toBe(false);
    expect(calls).toBe(2); // the first try, and the retry that flush cut short
  });

  it('uses the tracker extension point when given (plugins register trackers there)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-hub-'));
    const registry = new Map<string, unknown>();
    const extensions = {
      add: (point: string, name: string, value: unknown) => void registry.set(`${point}:${name}`, value),
      get: (point: string, name: string) => registry.get(`${point}:${name}`),
      list: (point: string) =>
        [...registry]
          .filter(([key]) => key.startsWith(`${point}:`))
          .map(([key, value]) => ({ name: key.slice(point.length + 1), value })),
      remove: (point: string, name: string) => registry.delete(`${point}:${name}`),
    };
    const hub = createTrackerHub({ extensions: extensions as never });
    extensions.add('tracker', 'from-plugin', createLocalTracker({ directory }));
    expect(hub.list()).toEqual([{ name: 'from-plugin', kind: 'local' }]);
    const run = hub.startRun({ experiment: 'x', params: { a: 1 } });
    run.end('finished');
    await hub.flush();
    const [folder] = await readdir(directory);
    expect(JSON.parse(await readFile(join(directory, folder, 'config.json'), 'utf8'))).toMatchObject({
      params: { a: 1 },
      status: 'finished',
    });
    expect(hub.remove('from-plugin')).toBe(true);
    expect(hub.list()).toEqual([]);
  });

  it('tracks plain jobs of the kinds in trackJobKinds (progress as a metric, end on job outcome)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-hub-'));
    const events = createTestBus();
    const hub = createTrackerHub({ events, trackJobKinds: ['evaluate'] });
    const local = createLocalTracker({ directory });
    hub.add('local', local);
    events.emit('job:started', { jobId: 'other', kind: 'export', attempt: 1 });
    events.emit('job:started', { jobId: 'eval-1', kind: 'evaluate', attempt: 1 });
    events.emit('job:progress', { jobId: 'eval-1', kind: 'evaluate', progress: 0.5 });
    events.emit('job:progress', { jobId: 'other', kind: 'export', progress: 0.5 });
    events.emit('job:cancelled', { jobId: 'eval-1', kind: 'evaluate' });
    await hub.flush();
    const runs = await local.listRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      name: 'eval-1',
      status: 'killed',
      tags: { 'tunekit.job_kind': 'evaluate' },
    });
    expect((await local.readMetrics(runs[0].id)).map((metric) => [metric.key, metric.value])).toEqual([
      ['progress', 0.5],
    ]);
    await hub.close();
  });
});
