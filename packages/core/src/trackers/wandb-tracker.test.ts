import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TunekitError } from '../errors/tunekit-error.js';
import { createTestBus } from './test-servers/test-event-bus.js';
import { WandbTestServer } from './test-servers/wandb-test-server.js';
import { createTrackerHub } from './tracker-hub.js';
import { createWandbTracker } from './wandb-tracker.js';

const servers: WandbTestServer[] = [];
async function startServer(
  options: { apiKey?: string; defaultEntity?: string } = {},
): Promise<WandbTestServer> {
  const server = new WandbTestServer(options);
  await server.start();
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

describe('W&B tracker (online)', () => {
  it('speaks UpsertBucket, file_stream with offsets, uploads and finish, with basic api:<key> auth', async () => {
    const server = await startServer({ apiKey: 'k123', defaultEntity: 'alice' });
    const tracker = createWandbTracker({
      baseUrl: server.url,
      env: { WANDB_API_KEY: 'k123' },
      project: 'tunekit-tests',
      heartbeatIntervalMs: 0,
    });
    const run = await tracker.startRun({
      experiment: 'ignored-when-project-set',
      name: 'lora-a',
      tags: { model: 'gpt2', smoke: '' },
    });
    const [upsert] = server.requests;
    expect(upsert.method).toBe('POST');
    expect(upsert.path).toBe('/graphql');
    expect(upsert.authorization).toBe(`Basic ${Buffer.from('api:k123').toString('base64')}`);
    const upsertBody = upsert.json as { query: string; variables: Record<string, unknown> };
    expect(upsertBody.query).toContain('mutation UpsertBucket');
    expect(upsertBody.variables).toEqual({
      name: run.id,
      project: 'tunekit-tests',
      displayName: 'lora-a',
      tags: ['model:gpt2', 'smoke'],
      config: '{}',
    });

    await run.logParams({ learningRate: 0.001, rank: 8 });
    await run.logMetrics([
      { key: 'loss', value: 2, step: 1, timestamp: 1_000 },
      { key: 'learning_rate', value: 0.001, step: 1, timestamp: 1_000 },
      { key: 'loss', value: 1.5, step: 2, timestamp: 2_000 },
    ]);
    await run.logMetrics([{ key: 'loss', value: 1, step: 3, timestamp: 3_000 }]);
    await run.log([{ level: 'info', message: 'hello', timestamp: 0 }]);
    await run.logArtifact('adapter/adapter_config.json', new TextEncoder().encode('{"r":8}'));
    await run.end('finished', { bestLoss: 1 });

    const stored = server.runs.get(`alice/tunekit-tests/${run.id}`)!;
    expect(stored.config).toEqual({
      learningRate: { value: 0.001, desc: null },
      rank: { value: 8, desc: null },
    });
    const streams = server.requestsTo(`/files/alice/tunekit-tests/${run.id}/file_stream`, 'POST');
    const history = streams
      .map(
        (request) =>
          (request.json as { files?: Record<string, { offset: number; content: string[] }> }).files?.[
            'wandb-history.jsonl'
          ],
      )
      .filter((file) => file !== undefined);
    expect(history.map((file) => [file.offset, file.content.length])).toEqual([
      [0, 2],
      [2, 1],
    ]);
    expect(stored.files['wandb-history.jsonl'].map((line) => JSON.parse(line))).toEqual([
      { _step: 1, _timestamp: 1, _runtime: 0, loss: 2, learning_rate: 0.001 },
      { _step: 2, _timestamp: 2, _runtime: 0, loss: 1.5 },
      { _step: 3, _timestamp: 3, _runtime: 0, loss: 1 },
    ]);
    expect(JSON.parse(stored.files['wandb-summary.json'][0])).toEqual({
      _step: 3,
      loss: 1,
      learning_rate: 0.001,
      bestLoss: 1,
    });
    expect(stored.files['output.log'][0]).toBe('1970-01-01T00:00:00.000Z INFO hello');
    expect(stored.uploads['adapter/adapter_config.json'].toString()).toBe('{"r":8}');
    const upload = server.requests.find((request) => request.method === 'PUT')!;
    expect(upload.authorization).toBeUndefined();
    expect(streams.at(-1)?.json).toEqual({ complete: true, exitcode: 0 });
    expect(stored.complete).toBe(true);
  });

  it('sends heartbeats while a run is open', async () => {
    const server = await startServer({ apiKey: 'k' });
    const tracker = createWandbTracker({
      baseUrl: server.url,
      apiKey: 'k',
      entity: 'team',
      heartbeatIntervalMs: 20,
      env: {},
    });
    const run = await tracker.startRun({ experiment: 'proj' });
    const stored = server.runs.get(`team/proj/${run.id}`)!;
    // Wait for two heartbeats (20 ms apart when idle; a loaded CI machine can delay timers by far more).
    const deadline = Date.now() + 10_000;
    while (stored.heartbeats < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(stored.heartbeats).toBeGreaterThanOrEqual(2);
    const heartbeat = server.requests.find(
      (request) => JSON.stringify(request.json) === '{"complete":false,"failed":false}',
    );
    expect(heartbeat?.path).toBe(`/files/team/proj/${run.id}/file_stream`);
    await run.end('failed');
    const after = stored.heartbeats;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(stored.heartbeats).toBe(after);
    expect(stored.exitcode).toBe(1);
    await tracker.close?.();
  });

  it('requires an API key online', () => {
    try {
      createWandbTracker({ env: {} });
      expect.unreachable();
    } catch (error) {
      expect(TunekitError.isInstance(error) && error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('keeps history offsets right across a retried file_stream through the hub', async () => {
    const server = await startServer({ apiKey: 'k' });
    const events = createTestBus();
    const hub = createTrackerHub({
      events,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
      flushIntervalMs: 10,
    });
    hub.add(
      'wandb',
      createWandbTracker({
        baseUrl: server.url,
        apiKey: 'k',
        entity: 'team',
        heartbeatIntervalMs: 0,
        env: {},
      }),
    );
    events.emit('training:started', { jobId: 'j', experiment: 'proj', params: { a: 1 } });
    await hub.flush({ timeoutMs: 2000 });
    server.failNext(3, 503, { error: 'unavailable' });
    for (let step = 1; step <= 5; step += 1)
      events.emit('training:step', { jobId: 'j', step, epoch: 0, loss: 1 / step, learningRate: 0.1 });
    events.emit('training:finished', { jobId: 'j', status: 'succeeded' });
    expect(await hub.flush({ timeoutMs: 5000 })).toEqual({ complete: true, pending: 0 });
    const stored = [...server.runs.values()][0];
    expect(stored.files['wandb-history.jsonl']).toHaveLength(5);
    expect(stored.complete).toBe(true);
    expect(events.warnings).toHaveLength(3);
    expect(events.warnings.every((warning) => warning.details?.httpStatus === 503)).toBe(true);
    await hub.close();
  });
});

describe('W&B tracker (offline)', () => {
  it('writes a local run folder and sends nothing', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-wandb-'));
    const tracker = createWandbTracker({ mode: 'offline', directory, env: {} });
    const run = await tracker.startRun({ experiment: 'proj', name: 'offline-a' });
    await run.logParams({ rank: 8 });
    await run.logMetrics([{ key: 'loss', value: 1, step: 1, timestamp: 1000 }]);
    await run.logArtifact('notes.txt', new TextEncoder().encode('x'));
    await run.end('finished');
    const [folder] = await readdir(directory);
    expect(folder).toMatch(new RegExp(`^offline-run-\\d{8}_\\d{6}-${run.id}$`));
    const files = await readdir(join(directory, folder));
    expect(files.sort()).toEqual([
      'config.json',
      'files',
      'wandb-history.jsonl',
      'wandb-metadata.json',
      'wandb-summary.json',
    ]);
    expect(JSON.parse(await readFile(join(directory, folder, 'config.json'), 'utf8'))).toEqual({
      rank: { value: 8, desc: null },
    });
    expect(JSON.parse(await readFile(join(directory, folder, 'wandb-summary.json'), 'utf8'))).toMatchObject({
      loss: 1,
      _status: 'finished',
    });
    expect(await readFile(join(directory, folder, 'files', 'notes.txt'), 'utf8')).toBe('x');
  });
});
