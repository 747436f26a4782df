import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin } from '../plugins/define-plugin.js';
import { createLocalTracker } from '../trackers/local-tracker.js';
import { createMlflowTracker } from '../trackers/mlflow-tracker.js';
import { MlflowTestServer } from '../trackers/test-servers/mlflow-test-server.js';
import { createTunekit } from './create-tunekit.js';
import type { Tunekit } from './tunekit.js';

const kits: Tunekit[] = [];
const servers: MlflowTestServer[] = [];
afterEach(async () => {
  await Promise.all(kits.splice(0).map((kit) => kit.close()));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** A job kind that reports like a trainer does, through the kit's bus. */
function registerFakeTraining(kit: Tunekit): void {
  kit.jobs.register('fake-train', async (input: { steps: number }, context) => {
    kit.events.emit('training:started', {
      jobId: context.jobId,
      runName: `run-${context.jobId}`,
      experiment: 'kit-test',
      params: { steps: input.steps },
    });
    for (let step = 1; step <= input.steps; step += 1) {
      kit.events.emit('training:step', {
        jobId: context.jobId,
        step,
        epoch: 0,
        loss: 2 / step,
        learningRate: 0.01,
        tokensPerSecond: 1000 + step,
      });
    }
    kit.events.emit('training:evaluated', {
      jobId: context.jobId,
      step: input.steps,
      metrics: { validation_loss: 0.9 },
    });
    kit.events.emit('training:finished', {
      jobId: context.jobId,
      status: 'succeeded',
      summary: { steps: input.steps },
    });
    return { ok: true };
  });
}

describe('kit lifecycle services', () => {
  it('tracks a job to the default local tracker and to MLflow, counts it in metrics, audits and checks access', async () => {
    const dataDirectory = await mkdtemp(join(tmpdir(), 'tunekit-kit-'));
    const server = new MlflowTestServer();
    await server.start();
    servers.push(server);
    const kit = await createTunekit({
      dataDirectory,
      trackers: [
        createLocalTracker({ directory: join(dataDirectory, 'runs') }),
        createMlflowTracker({ url: server.url, env: {} }),
      ],
    });
    kits.push(kit);
    expect(kit.trackers.list()).toEqual([
      { name: 'local', kind: 'local' },
      { name: 'mlflow', kind: 'mlflow' },
    ]);
    registerFakeTraining(kit);
    const job = await kit.jobs.submit('fake-train', { steps: 20 }, { owner: 'alice' });
    await kit.jobs.wait(job.id, { timeoutMs: 10_000 });
    expect(await kit.trackers.flush({ timeoutMs: 5000 })).toEqual({ complete: true, pending: 0 });

    const [runFolder] = await readdir(join(dataDirectory, 'runs'));
    const local = createLocalTracker({ directory: join(dataDirectory, 'runs') });
    const [run] = await local.listRuns();
    expect(run).toMatchObject({
      id: runFolder,
      name: `run-${job.id}`,
      experiment: 'kit-test',
      status: 'finished',
    });
    expect(run.summary?.metrics.loss).toMatchObject({ final: 0.1, best: 0.1, count: 20 });
    const mlflowRun = [...server.runs.values()][0];
    expect(mlflowRun).toMatchObject({
      runName: `run-${job.id}`,
      status: 'FINISHED',
      params: { steps: '20' },
    });
    expect(mlflowRun.metrics.filter((metric) => metric.key === 'loss')).toHaveLength(20);

    const text = await kit.metrics.text();
    expect(text).toContain('task_success_total{kind="fake-train"} 1');
    expect(text).toContain(`training_tokens_per_second{job="${job.id}"} 1020`);
    expect(text).toContain(`training_loss{job="${job.id}"} 0.1`);
    expect(text).toContain('task_queue_length 0');

    await kit.audit.record(
      { action: 'job.submit', resourceType: 'job', resourceId: job.id, outcome: 'success' },
      { actor: 'alice' },
    );
    const events = await kit.audit.query({ actor: 'alice' });
    expect(events.items.map((event) => event.resourceId)).toContain(job.id);
    expect(await kit.audit.verify()).toMatchObject({ valid: true });

    const stored = await kit.jobs.get(job.id);
    expect(kit.policy.can({ id: 'alice', roles: ['user'] }, 'jobs:read', { owner: stored?.owner })).toBe(
      true,
    );
    expect(kit.policy.can({ id: 'bob', roles: ['user'] }, 'jobs:read', { owner: stored?.owner })).toBe(false);
  });

  it('takes trackers from plugins and ends open runs as killed on close', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-kit-plugin-'));
    const kit = await createTunekit({
      trackers: [],
      plugins: [
        definePlugin({
          name: 'tracking',
          setup: (context) =>
            context.extensions.add('tracker', 'plugin-local', createLocalTracker({ directory })),
        }),
      ],
    });
    expect(kit.trackers.list()).toEqual([{ name: 'plugin-local', kind: 'local' }]);
    kit.events.emit('training:started', { jobId: 'unfinished', params: {} });
    kit.events.emit('training:step', { jobId: 'unfinished', step: 1, epoch: 0, loss: 1, learningRate: 0.1 });
    await kit.close();
    const [run] = await createLocalTracker({ directory }).listRuns();
    expect(run).toMatchObject({ name: 'unfinished', status: 'killed' });
    expect(run.summary?.metrics.loss.final).toBe(1);
  });
});
