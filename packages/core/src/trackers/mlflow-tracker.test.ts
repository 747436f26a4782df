import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkLogBatch } from './mlflow-log-batch.js';
import { createMlflowTracker } from './mlflow-tracker.js';
import { MlflowTestServer } from './test-servers/mlflow-test-server.js';
import { createTestBus } from './test-servers/test-event-bus.js';
import { createTrackerHub } from './tracker-hub.js';

const servers: MlflowTestServer[] = [];
async function startServer(options: { authorization?: string } = {}): Promise<MlflowTestServer> {
  const server = new MlflowTestServer(options);
  await server.start();
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

const fastRetry = { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 30 };

describe('chunkLogBatch', () => {
  it('keeps every request within 1000 metrics, 100 params, 100 tags and 1000 entities', () => {
    const metrics = Array.from({ length: 2500 }, (_, step) => ({
      key: 'loss',
      value: step,
      timestamp: 1,
      step,
    }));
    const params = Array.from({ length: 250 }, (_, index) => ({ key: `p${index}`, value: String(index) }));
    const tags = Array.from({ length: 120 }, (_, index) => ({ key: `t${index}`, value: 'x' }));
    const chunks = chunkLogBatch({ metrics, params, tags });
    for (const chunk of chunks) {
      expect(chunk.metrics.length).toBeLessThanOrEqual(1000);
      expect(chunk.params.length).toBeLessThanOrEqual(100);
      expect(chunk.tags.length).toBeLessThanOrEqual(100);
      expect(chunk.metrics.length + chunk.params.length + chunk.tags.length).toBeLessThanOrEqual(1000);
    }
    expect(chunks.flatMap((chunk) => chunk.metrics)).toEqual(metrics);
    expect(chunks.flatMap((chunk) => chunk.params)).toEqual(params);
    expect(chunks.flatMap((chunk) => chunk.tags)).toEqual(tags);
    // Greedy packing: params fill 100-param requests; the remaining 50 params share one with 100 tags;
    // the last 20 tags share one with 980 metrics (1000 entities).
    expect(chunks.map((chunk) => [chunk.params.length, chunk.tags.length, chunk.metrics.length])).toEqual([
      [100, 0, 0],
      [100, 0, 0],
      [50, 100, 0],
      [0, 20, 980],
      [0, 0, 1000],
      [0, 0, 520],
    ]);
  });

  it('splits by size under 1 MB', () => {
    const big = 'x'.repeat(5000);
    const params = Array.from({ length: 400 }, (_, index) => ({ key: `p${index}`, value: big }));
    const chunks = chunkLogBatch({ params });
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(1_000_000);
    expect(chunks.flatMap((chunk) => chunk.params)).toHaveLength(400);
  });
});

describe('MLflow tracker', () => {
  it('sends the documented requests with bearer auth, chunked log-batch and artifact PUT', async () => {
    const server = await startServer({ authorization: 'Bearer secret-token' });
    const tracker = createMlflowTracker({ url: server.url, token: 'secret-token', env: {} });
    const run = await tracker.startRun({ experiment: 'exp one', name: 'run-a', tags: { team: 'nlp' } });
    expect(server.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=exp%20one 404',
      'POST /api/2.0/mlflow/experiments/create 200',
      'POST /api/2.0/mlflow/runs/create 200',
    ]);
    expect(server.requests.every((request) => request.authorization === 'Bearer secret-token')).toBe(true);
    expect(server.requests[1].json).toEqual({ name: 'exp one' });
    const create = server.requests[2].json as Record<string, unknown>;
    expect(create).toMatchObject({
      experiment_id: '1',
      run_name: 'run-a',
      tags: [{ key: 'team', value: 'nlp' }],
    });
    expect(typeof create.start_time).toBe('number');

    const params = Object.fromEntries(Array.from({ length: 150 }, (_, index) => [`p${index}`, index]));
    await run.logParams({ ...params, nested: { rank: 8 } });
    const metrics = Array.from({ length: 2100 }, (_, step) => ({
      key: 'loss',
      value: 1 / (step + 1),
      step,
      timestamp: 1000 + step,
    }));
    await run.logMetrics([...metrics, { key: 'loss', value: Number.NaN, step: 5 }]);
    const batches = server
      .requestsTo('/api/2.0/mlflow/runs/log-batch', 'POST')
      .map((request) => request.json as Record<string, unknown[]>);
    expect(batches.map((batch) => [batch.params.length, batch.metrics.length])).toEqual([
      [100, 0],
      [51, 0],
      [0, 1000],
      [0, 1000],
      [0, 100],
    ]);
    const stored = server.runs.get(run.id)!;
    expect(stored.params.nested).toBe('{"rank":8}');
    expect(stored.params.p7).toBe('7');
    expect(stored.metrics).toHaveLength(2100);
    expect(stored.metrics[3]).toEqual({ key: 'loss', value: 0.25, step: 3, timestamp: 1003 });

    await run.logArtifact('adapter/adapter_config.json', new TextEncoder().encode('{"r":8}'));
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-mlflow-'));
    await writeFile(join(directory, 'card.md'), '# card');
    await run.logArtifact('card.md', { path: join(directory, 'card.md') });
    const puts = server.requestsTo('/api/2.0/mlflow-artifacts/artifacts/', 'PUT');
    expect(puts.map((request) => request.path)).toEqual([
      `/api/2.0/mlflow-artifacts/artifacts/1/${run.id}/artifacts/adapter/adapter_config.json`,
      `/api/2.0/mlflow-artifacts/artifacts/1/${run.id}/artifacts/card.md`,
    ]);
    expect(server.artifacts.get(`1/${run.id}/artifacts/card.md`)?.toString()).toBe('# card');

    await run.setTags({ stage: 'sft' });
    await run.end('finished', { bestLoss: 0.1 });
    const updates = server.requestsTo('/api/2.0/mlflow/runs/update', 'POST');
    expect(updates).toHaveLength(1);
    expect(updates[0].json).toMatchObject({ run_id: run.id, status: 'FINISHED' });
    expect(stored.status).toBe('FINISHED');
    expect(stored.tags.stage).toBe('sft');
    expect(stored.tags['tunekit.summary.bestLoss']).toBe('0.1');
    expect(stored.endTime).toBeTypeOf('number');

    // A second run in the same experiment finds it by name, without creating it again.
    const before = server.requests.length;
    await createMlflowTracker({ url: server.url, token: 'secret-token', env: {} }).startRun({
      experiment: 'exp one',
    });
    expect(server.requests.slice(before).map((request) => request.path.split('?')[0])).toEqual([
      '/api/2.0/mlflow/experiments/get-by-name',
      '/api/2.0/mlflow/runs/create',
    ]);
  });

  it('uses basic auth from the environment and survives the experiments/create race', async () => {
    const basic = `Basic ${Buffer.from('alice:pw').toString('base64')}`;
    const server = await startServer({ authorization: basic });
    server.raceNextCreate = true;
    const tracker = createMlflowTracker({
      env: {
        MLFLOW_TRACKING_URI: server.url,
        MLFLOW_TRACKING_USERNAME: 'alice',
        MLFLOW_TRACKING_PASSWORD: 'pw',
      },
    });
    const run = await tracker.startRun({ experiment: 'raced' });
    expect(
      server.requests.map((request) => `${request.method} ${request.path.split('?')[0]} ${request.status}`),
    ).toEqual([
      'GET /api/2.0/mlflow/experiments/get-by-name 404',
      'POST /api/2.0/mlflow/experiments/create 400',
      'GET /api/2.0/mlflow/experiments/get-by-name 200',
      'POST /api/2.0/mlflow/runs/create 200',
    ]);
    expect(server.requests[1].json).toEqual({ name: 'raced' });
    expect(server.requests.every((request) => request.authorization === basic)).toBe(true);
    expect(server.runs.get(run.id)?.experimentId).toBe(server.experiments.get('raced')?.id);
  });

  it('tracks a training run from bus events with no extra code', async () => {
    const server = await startServer();
    const events = createTestBus();
    const hub = createTrackerHub({ events, retry: fastRetry, flushIntervalMs: 50 });
    hub.add('mlflow', createMlflowTracker({ url: server.url, env: {} }));
    events.emit('training:started', {
      jobId: 'job-1',
      runName: 'lora-1',
      experiment: 'sft',
      params: { learningRate: 0.001, rank: 8 },
      tags: { model: 'gpt2' },
    });
    for (let step = 1; step <= 30; step += 1) {
      events.emit('training:step', {
        jobId: 'job-1',
        step,
        epoch: 0,
        loss: 3 / step,
        learningRate: 0.001,
        tokensPerSecond: 100,
      });
    }
    events.emit('training:evaluated', { jobId: 'job-1', step: 30, metrics: { validation_loss: 0.5 } });
    events.emit('checkpoint:saved', { jobId: 'job-1', step: 30, uri: 'artifact://checkpoints/job-1/30' });
    events.emit('training:finished', { jobId: 'job-1', status: 'succeeded', summary: { steps: 30 } });
    events.emit('job:succeeded', { jobId: 'job-1', kind: 'train', durationMs: 10 });
    expect(await hub.flush({ timeoutMs: 5000 })).toEqual({ complete: true, pending: 0 });
    const run = [...server.runs.values()][0];
    expect(run.runName).toBe('lora-1');
    expect(run.tags).toMatchObject({
      model: 'gpt2',
      'tunekit.job_id': 'job-1',
      'tunekit.checkpoint.latest': 'artifact://checkpoints/job-1/30',
    });
    expect(run.params).toEqual({ learningRate: '0.001', rank: '8' });
    expect(run.metrics.filter((metric) => metric.key === 'loss')).toHaveLength(30);
    expect(run.metrics.find((metric) => metric.key === 'validation_loss')).toMatchObject({
      value: 0.5,
      step: 30,
    });
    expect(run.status).toBe('FINISHED');
    // Metrics were batched: far fewer log-batch requests than steps.
    expect(server.requestsTo('/api/2.0/mlflow/runs/log-batch').length).toBeLessThan(10);
    expect(events.warnings).toEqual([]);
    expect(server.requestsTo('/api/2.0/mlflow/runs/update')).toHaveLength(1);
    await hub.close();
  });

  it('retries through 500s and a stopped server, never blocking the emitter, then recovers', async () => {
    const server = await startServer();
    const events = createTestBus();
    const hub = createTrackerHub({ events, retry: fastRetry, flushIntervalMs: 20, batchSize: 50 });
    hub.add('mlflow', createMlflowTracker({ url: server.url, env: {}, timeoutMs: 2000 }));
    server.failNext(2, 500);
    events.emit('training:started', { jobId: 'job-2', experiment: 'outage', params: { seed: 1 } });
    await server.stop();
    const started = performance.now();
    for (let step = 1; step <= 500; step += 1) {
      events.emit('training:step', { jobId: 'job-2', step, epoch: 0, loss: 1, learningRate: 0.1 });
    }
    const emitMs = performance.now() - started;
    // 500 emits without waiting on the network take a few ms; sending them would take seconds. The
    // bound leaves room for a loaded CI machine.
    expect(emitMs).toBeLessThan(1000);
    // Wait for the retry warnings (about 150 ms when idle; timers slip far more under load).
    const deadline = Date.now() + 10_000;
    while (events.warnings.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(events.warnings.length).toBeGreaterThanOrEqual(2);
    expect(events.warnings[0].source).toBe('tracker:mlflow');
    expect(events.warnings[0].details).toMatchObject({ operation: 'start', retryable: true });
    await server.start();
    events.emit('training:finished', { jobId: 'job-2', status: 'failed' });
    expect(await hub.flush({ timeoutMs: 5000 })).toEqual({ complete: true, pending: 0 });
    const run = [...server.runs.values()][0];
    expect(run.metrics).toHaveLength(500 * 3);
    expect(run.params).toEqual({ seed: '1' });
    expect(run.status).toBe('FAILED');
    const failedStatuses = server.requests.filter((request) => request.status === 500);
    expect(failedStatuses).toHaveLength(2);
    expect(hub.stats()[0]).toMatchObject({ queuedOperations: 0, droppedOperations: 0, droppedMetrics: 0 });
    await hub.close();
  });

  it('drops (does not block on) bad credentials with a warning', async () => {
    const server = await startServer({ authorization: 'Bearer right' });
    const events = createTestBus();
    const hub = createTrackerHub({ events, retry: fastRetry });
    hub.add('mlflow', createMlflowTracker({ url: server.url, token: 'wrong', env: {} }));
    events.emit('training:started', { jobId: 'job-3', params: { a: 1 } });
    events.emit('training:step', { jobId: 'job-3', step: 1, epoch: 0, loss: 1, learningRate: 0.1 });
    events.emit('training:finished', { jobId: 'job-3', status: 'succeeded' });
    const started = performance.now();
    expect(await hub.flush({ timeoutMs: 5000 })).toEqual({ complete: true, pending: 0 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(server.requests.map((request) => request.status)).toEqual([401]);
    expect(events.warnings).toHaveLength(1);
    expect(events.warnings[0].details).toMatchObject({
      operation: 'start',
      retryable: false,
      httpStatus: 401,
    });
    expect(hub.stats()[0].droppedOperations).toBeGreaterThanOrEqual(3);
    await hub.close();
  });
});
