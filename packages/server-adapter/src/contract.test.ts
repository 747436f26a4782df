import {
  createTunekit,
  definePlugin,
  type Predictor,
  type TrainingJobInput,
  type Tunekit,
  trainingOutputUri,
} from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTunekitClient } from './client/create-tunekit-client.js';
import { openApiDocument } from './openapi/openapi-document.js';
import { defineRoute } from './routes/route-definition.js';
import { type AdapterName, type RunningTestServer, startTestServer } from './testing/start-test-server.js';

const secret = 'contract-test-secret-with-32-characters!';
const apiKey = 'tk_contract_api_key_0123456789';
/** An API key bound to the user `erin`, who does not exist until a test creates her. */
const erinKey = 'tk_contract_erin_key_0123456789';
const users = [
  { username: 'admin', password: 'admin-password', roles: ['admin' as const] },
  { username: 'alice', password: 'alice-password', roles: ['user' as const] },
  { username: 'bob', password: 'bob-password-1', roles: ['user' as const] },
  { username: 'victor', password: 'victor-password', roles: ['viewer' as const] },
];

async function startKit(): Promise<Tunekit> {
  const kit = await createTunekit({ plugins: [registryPlugin()] });
  // A stand-in `train` handler (the real trainer runs in tests/e2e-client.test.ts): progress, then success.
  kit.jobs.register('train', async (input: TrainingJobInput, job) => {
    const steps = input.hyperparameters.maxSteps ?? 3;
    for (let step = 1; step <= steps; step++) {
      if (job.signal.aborted) throw job.signal.reason;
      await new Promise((resolve) => setTimeout(resolve, 20));
      job.progress(step / steps, { message: `step ${step}`, metrics: { step, loss: 1 / step } });
    }
    return { steps, output: trainingOutputUri(input, job.jobId) };
  });
  return kit;
}

/** A rule classifier standing in for a trained one (the predict pipeline is the trainer's). */
function keywordClassifier(
  id: string,
  positive: RegExp,
): Predictor & { baseModel: string; language: string } {
  return {
    id,
    baseModel: 'rules',
    language: 'en',
    predict: ({ input }) => {
      const score = positive.test(String(input)) ? 0.9 : 0.2;
      return { probabilities: { positive: score, negative: 1 - score } };
    },
  };
}

describe.each<AdapterName>(['fastify', 'express'])('HTTP contract (%s adapter, loopback)', (adapter) => {
  let kit: Tunekit;
  let server: RunningTestServer;
  const tokens: Record<string, string> = {};
  const as = (user: string, init: RequestInit = {}): RequestInit => ({
    ...init,
    headers: { authorization: `Bearer ${tokens[user]}`, ...(init.headers as Record<string, string>) },
  });
  const json = (user: string, method: string, body: unknown): RequestInit =>
    as(user, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const call = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

  beforeAll(async () => {
    kit = await startKit();
    server = await startTestServer(adapter, kit, {
      auth: {
        jwtSecret: secret,
        apiKeys: [
          { name: 'ci-bot', key: apiKey, roles: ['user'] },
          { name: 'erin-laptop', key: erinKey, user: 'erin' },
        ],
      },
      users,
      bodyLimit: 64 * 1024,
      uploadLimit: 256 * 1024,
      loginRateLimit: { max: 50 },
      models: { tiny: { path: '/nonexistent/tiny-model' } },
      predictors: [
        keywordClassifier('keywords', /good|great|love/),
        keywordClassifier('always-negative', /$^/),
      ],
    });
    for (const user of users) {
      const response = await call(
        '/auth/login',
        json('none', 'POST', { username: user.username, password: user.password }),
      );
      expect(response.status).toBe(200);
      tokens[user.username] = ((await response.json()) as { access_token: string }).access_token;
    }
  });
  afterAll(async () => {
    await server.close();
    await kit.close();
  });

  it('serves /, /health, /ready, /live and Prometheus /metrics without credentials', async () => {
    expect(await (await call('/')).json()).toMatchObject({ name: 'tunekit' });
    expect(await (await call('/health')).json()).toMatchObject({ status: 'ok', model_loaded: false });
    expect((await call('/ready')).status).toBe(200);
    expect(await (await call('/live')).json()).toEqual({ status: 'alive' });
    const metrics = await call('/metrics');
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('task_success_total');
  });

  it('serves the OpenAPI 3.1 document of the route table', async () => {
    const document = (await (await call('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(document).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/train/{id}/events', '/generate', '/audit/logs']),
    );
  });

  it('answers unknown routes with 404 problem+json and echoes a safe request id', async () => {
    const response = await call('/no/such/route', { headers: { 'x-request-id': 'req-contract-1' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    const health = await call('/health', { headers: { 'x-request-id': 'req-contract-2' } });
    expect(health.headers.get('x-request-id')).toBe('req-contract-2');
  });

  it('rejects a wrong password, a malformed token, an expired token and an unknown API key with 401', async () => {
    const wrong = await call(
      '/auth/login',
      json('none', 'POST', { username: 'alice', password: 'nope-nope' }),
    );
    expect(wrong.status).toBe(401);
    expect((await call('/train', { headers: { authorization: 'Bearer not.a.token' } })).status).toBe(401);
    const expired = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(secret));
    const expiredResponse = await call('/audit/logs', { headers: { authorization: `Bearer ${expired}` } });
    expect(expiredResponse.status).toBe(401);
    expect(await expiredResponse.json()).toMatchObject({
      code: 'UNAUTHENTICATED',
      details: { reason: 'expired' },
    });
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-chars!!'));
    expect((await call('/audit/logs', { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect((await call('/train', { headers: { 'x-api-key': 'tk_wrong_key_0123456789' } })).status).toBe(401);
    expect((await call('/train')).status).toBe(401);
    const me = await call('/auth/me', { headers: { 'x-api-key': apiKey } });
    expect(await me.json()).toMatchObject({ id: 'ci-bot', roles: ['user'] });
  });

  it('uploads a dataset (raw body and multipart) and lists, gets, versions and stats it', async () => {
    const client = createTunekitClient({ baseUrl: server.url, token: tokens.alice });
    const rows = Array.from({ length: 20 }, (_, index) =>
      JSON.stringify({ text: `row number ${index}` }),
    ).join('\n');
    const version = await client.uploadDataset(
      { name: `contract-${adapter}`, kind: 'training' },
      rows,
      'application/x-ndjson',
    );
    expect(version).toMatchObject({ name: `contract-${adapter}`, row_count: 20, file_format: 'jsonl' });
    const form = new FormData();
    form.append('file', new Blob(['text\nfirst\nsecond\n']), 'rows.csv');
    const multipart = await call(
      `/datasets?name=contract-${adapter}`,
      as('alice', { method: 'POST', body: form }),
    );
    expect(multipart.status).toBe(201);
    expect(await multipart.json()).toMatchObject({ row_count: 2, file_format: 'csv' });
    const { data: list } = await client.GET('/datasets');
    expect(list?.items.map((dataset) => dataset.name)).toContain(`contract-${adapter}`);
    const { data: versions } = await client.GET('/datasets/{name}/versions', {
      params: { path: { name: `contract-${adapter}` } },
    });
    expect(versions?.items).toHaveLength(2);
    const { data: stats } = await client.GET('/dataset-versions/{id}/stats', {
      params: { path: { id: version.id } },
    });
    expect(stats).toMatchObject({ row_count: 20 });
    const validate = await call(
      '/datasets/validate',
      as('alice', {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: '{"text":"a"}\n{"nope":1}\n',
      }),
    );
    expect(await validate.json()).toMatchObject({ report: { valid_rows: 1, invalid_rows: 1 } });
  });

  it('rejects oversized uploads and JSON bodies with 413, malformed JSON with 400, storing nothing', async () => {
    const before = (await kit.datasets.list()).items.length;
    const big = `${JSON.stringify({ text: 'x'.repeat(1000) })}\n`.repeat(400);
    const upload = await call(
      '/datasets?name=too-big',
      as('alice', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: big }),
    );
    expect(upload.status).toBe(413);
    expect(await upload.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(await kit.datasets.get('too-big')).toBeUndefined();
    const jsonBody = await call(
      '/feedback',
      json('alice', 'POST', { model_id: 'm', input: 'x'.repeat(70 * 1024), output: 'y' }),
    );
    expect(jsonBody.status).toBe(413);
    const malformed = await call(
      '/train',
      as('alice', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"base_model": ',
      }),
    );
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await kit.datasets.list()).items.length).toBe(before);
    expect((await kit.feedback.list()).items.length).toBe(0);
    const rejected = await kit.audit.query({
      action: 'http.submitTraining',
      outcome: 'failure',
      actor: 'alice',
    });
    expect(rejected.items[0]).toMatchObject({
      details: expect.objectContaining({ code: 'VALIDATION_FAILED', status: 400 }),
    });
    const tooLarge = await kit.audit.query({
      action: 'http.recordFeedback',
      outcome: 'failure',
      actor: 'alice',
    });
    expect(tooLarge.items[0]).toMatchObject({
      details: expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', status: 413 }),
    });
    // One wire format: a camelCase field is refused with the snake_case spelling to use, nothing stored.
    const camel = await call('/feedback', json('alice', 'POST', { modelId: 'm', input: 'x', output: 'y' }));
    expect(camel.status).toBe(400);
    expect(await camel.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail: expect.stringContaining('send "model_id"'),
    });
  });

  it('rejects path traversal in dataset and output names with 400 naming the field', async () => {
    const traversal = await call(
      '/datasets?name=..%2F..%2Fetc%2Fpasswd',
      as('alice', {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: '{"text":"a"}\n',
      }),
    );
    expect(traversal.status).toBe(400);
    expect(await traversal.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [expect.objectContaining({ path: 'name' })],
    });
    const fileName = await call(
      '/datasets?name=ok-name&file_name=..%2Fescape.jsonl',
      as('alice', { method: 'POST', body: '{"text":"a"}\n' }),
    );
    expect(fileName.status).toBe(400);
    expect(await kit.datasets.get('ok-name')).toBeUndefined();
    const version = (await kit.datasets.list()).items[0]?.latestVersionId as string;
    const output = await call(
      '/train',
      json('alice', 'POST', { base_model: 'tiny', dataset_version_id: version, output_name: '../../etc' }),
    );
    expect(output.status).toBe(400);
    expect(await output.json()).toMatchObject({ issues: [expect.objectContaining({ path: 'output_name' })] });
    const checkpoints = await call('/train/..%2F..%2Fsecrets/checkpoints', as('admin'));
    expect(checkpoints.status).toBe(404);
  });

  it('treats SQL-like junk in filters as data: no match or a 400, never an error or a leak', async () => {
    const junk = encodeURIComponent("' OR 1=1; DROP TABLE jobs; --");
    const audit = await call(`/audit/logs?actor=${junk}`, as('admin'));
    expect(audit.status).toBe(200);
    expect(((await audit.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await call(`/train?status=${junk}`, as('admin'))).status).toBe(400);
    const feedback = await call(`/feedback?model_id=${junk}`, as('admin'));
    expect(((await feedback.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await call(`/datasets/${junk}`, as('alice'))).status).toBe(400);
  });

  it('forbids a viewer from training (403, audited as denied, nothing queued) and non-admins from admin routes', async () => {
    const jobsBefore = (await kit.jobs.list()).items.length;
    const response = await call(
      '/train',
      json('victor', 'POST', { base_model: 'tiny', dataset_version_id: 'x', output_name: 'run' }),
    );
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect((await kit.jobs.list()).items.length).toBe(jobsBefore);
    const denied = await kit.audit.query({ actor: 'victor', outcome: 'denied' });
    expect(denied.items[0]).toMatchObject({ action: 'http.submitTraining', requestId: expect.any(String) });
    for (const path of ['/experiments', '/audit/logs', '/feedback/stats']) {
      expect((await call(path, as('alice'))).status).toBe(403);
    }
  });

  it('runs the training lifecycle: submit, own status, SSE to completion, ownership, stop, experiments', async () => {
    const base = 'tiny';
    const version = (await kit.datasets.list()).items.find(
      (dataset) => dataset.name === `contract-${adapter}`,
    )?.latestVersionId as string;
    const client = createTunekitClient({ baseUrl: server.url, token: tokens.alice });
    const { data: accepted, response } = await client.POST('/train', {
      body: {
        base_model: base,
        dataset_version_id: version,
        output_name: 'contract-run',
        hyperparameters: { max_steps: 4 },
      },
    });
    expect(response.status).toBe(202);
    const jobId = accepted?.job_id as string;
    const events: string[] = [];
    for await (const event of client.trainingEvents(jobId)) events.push(event.event);
    expect(events[0]).toBe('status');
    expect(events).toContain('progress');
    expect(events.at(-1)).toBe('status');
    expect(events).toContain('succeeded');
    const { data: job } = await client.GET('/train/{id}', { params: { path: { id: jobId } } });
    expect(job).toMatchObject({ status: 'succeeded', progress: 1, owner: 'alice', metrics: { step: 4 } });
    expect((await call(`/train/${jobId}`, as('bob'))).status).toBe(404);
    expect((await call(`/train/${jobId}/events`, as('bob'))).status).toBe(404);
    expect((await call(`/train/${jobId}`, as('admin'))).status).toBe(200);
    expect((await call(`/task/${jobId}`, as('alice'))).status).toBe(200);
    expect(
      (await call('/generate', json('bob', 'POST', { prompt: 'hi', model: `job:${jobId}` }))).status,
    ).toBe(404);
    expect((await call(`/model/info?model=job:${jobId}`, as('bob'))).status).toBe(404);
    const bobs = (await (await call('/train', as('bob'))).json()) as { items: unknown[] };
    expect(bobs.items).toEqual([]);
    const slow = await client.POST('/train', {
      body: {
        base_model: base,
        dataset_version_id: version,
        output_name: 'slow-run',
        hyperparameters: { max_steps: 200 },
      },
    });
    const slowId = slow.data?.job_id as string;
    expect((await call(`/train/${slowId}/stop`, as('bob', { method: 'POST' }))).status).toBe(404);
    const stopped = await call(`/train/${slowId}/stop`, as('alice', { method: 'POST' }));
    expect(stopped.status).toBe(200);
    expect((await kit.jobs.wait(slowId)).status).toBe('cancelled');
    const experiments = (await (await call('/experiments', as('admin'))).json()) as {
      items: Array<{ id: string }>;
    };
    expect(experiments.items.map((item) => item.id)).toEqual(expect.arrayContaining([jobId, slowId]));
    const audited = await kit.audit.query({ action: 'http.submitTraining', outcome: 'success' });
    expect(audited.items[0]).toMatchObject({
      actor: 'alice',
      ip: expect.any(String),
      requestId: expect.any(String),
    });
  });

  it('records feedback and runs an A/B test: create, assign, record, results, stop', async () => {
    const client = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    const { data: test, response } = await client.POST('/ab-tests', {
      body: {
        name: 'contract',
        variants: [
          { model_id: 'a', weight: 1 },
          { model_id: 'b', weight: 1 },
        ],
        success_metric: { kind: 'rating', name: 'rating' },
      },
    });
    expect(response.status).toBe(201);
    const id = test?.id as string;
    const user = createTunekitClient({ baseUrl: server.url, apiKey });
    for (let unit = 0; unit < 20; unit++) {
      const { data: assignment } = await user.POST('/ab-tests/{id}/assign', {
        params: { path: { id } },
        body: { unit_id: `u${unit}` },
      });
      await user.POST('/ab-tests/{id}/record', {
        params: { path: { id } },
        body: { unit_id: `u${unit}`, exposure: true },
      });
      const { response: recorded } = await user.POST('/feedback', {
        body: {
          model_id: assignment?.model_id as string,
          input: 'hi',
          output: 'hello',
          rating: assignment?.variant === 'a' ? 5 : 3,
          ab_test_id: id,
          unit_id: `u${unit}`,
        },
      });
      expect(recorded.status).toBe(201);
    }
    const { data: results } = await user.GET('/ab-tests/{id}/results', { params: { path: { id } } });
    expect(results).toBeDefined();
    const { data: stats } = await client.GET('/feedback/stats', { params: { query: { ab_test_id: id } } });
    expect(stats).toMatchObject({ count: 20 });
    const feedback = await kit.feedback.list({ abTestId: id });
    expect(feedback.items.every((item) => item.userId === 'ci-bot')).toBe(true);
    await user.POST('/feedback', {
      body: { model_id: 'a', input: 'translate: chat', output: 'cat', corrected_text: 'chat', rating: 2 },
    });
    const { data: exported } = await client.POST('/feedback/export', {
      body: { as: 'sft', name: `feedback-sft-${adapter}` },
    });
    expect(exported).toMatchObject({ rows: 1, version: { name: `feedback-sft-${adapter}`, row_count: 1 } });
    expect((await user.POST('/feedback/export', { body: { as: 'sft' } })).response.status).toBe(403);
    const { data: stopped } = await client.POST('/ab-tests/{id}/stop', {
      params: { path: { id } },
      body: { winner: 'a' },
    });
    expect(stopped).toMatchObject({ status: 'completed' });
    expect(
      (await user.POST('/ab-tests/{id}/stop', { params: { path: { id } }, body: {} })).response.status,
    ).toBe(403);
  });

  it('answers inference routes with coded errors for unknown models and invalid options', async () => {
    const generate = await call('/generate', json('alice', 'POST', { prompt: 'hi', model: 'missing' }));
    expect(generate.status).toBe(404);
    const invalid = await call('/generate', json('alice', 'POST', { prompt: 'hi', max_tokens: 0 }));
    expect(await invalid.json()).toMatchObject({
      status: 400,
      issues: [expect.objectContaining({ path: 'max_tokens' })],
    });
    expect((await call('/predict', json('alice', 'POST', { text: 'great', model: 'missing' }))).status).toBe(
      404,
    );
  });

  it('registers, lists, searches, recommends, transitions, deploys and rolls back models (admin transitions only)', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    const alice = createTunekitClient({ baseUrl: server.url, token: tokens.alice });
    const ids: string[] = [];
    for (const [index, description] of [
      'sentiment classifier for movie reviews',
      'french summarizer of news',
    ].entries()) {
      const { data, response } = await alice.POST('/models', {
        body: {
          name: `contract-${adapter}`,
          artifact_uri: `artifact://models/contract/${index}`,
          description,
          task: index === 0 ? 'text-classification' : 'summarization',
          language: index === 0 ? 'en' : 'fr',
          tags: ['contract'],
        },
      });
      expect(response.status).toBe(201);
      ids.push(data?.id as string);
    }
    const traversal = await alice.POST('/models', {
      body: { name: 'x', artifact_uri: 'file:///etc/passwd' },
    });
    expect(traversal.response.status).toBe(400);
    const { data: list } = await alice.GET('/models', { params: { query: { name: `contract-${adapter}` } } });
    expect(list?.items).toHaveLength(2);
    const { data: french } = await alice.GET('/models/search', { params: { query: { language: 'fr' } } });
    expect(french?.items.map((item) => item.id)).toEqual([ids[1]]);
    const { data: recommended } = await alice.POST('/models/recommend', {
      body: { query: 'movie review sentiment', k: 1 },
    });
    expect(recommended?.items[0]?.model.id).toBe(ids[0]);
    const { data: card } = await alice.GET('/models/{id}/card', {
      params: { path: { id: ids[0] as string } },
    });
    expect(card).toBeDefined();
    const denied = await alice.POST('/models/{id}/transition', {
      params: { path: { id: ids[0] as string } },
      body: { stage: 'production' },
    });
    expect(denied.response.status).toBe(403);
    await admin.POST('/models/{id}/transition', {
      params: { path: { id: ids[0] as string } },
      body: { stage: 'staging' },
    });
    const deployed = await admin.POST('/models/{id}/deploy', {
      params: { path: { id: ids[0] as string } },
      body: {},
    });
    expect(deployed.data?.stage).toBe('production');
    await admin.POST('/models/{id}/transition', {
      params: { path: { id: ids[1] as string } },
      body: { stage: 'staging' },
    });
    const { data: second, error: secondError } = await admin.POST('/models/{id}/transition', {
      params: { path: { id: ids[1] as string } },
      body: { stage: 'production' },
    });
    expect(secondError).toBeUndefined();
    expect(second?.stage).toBe('production');
    expect(
      (await alice.GET('/models/{id}', { params: { path: { id: ids[0] as string } } })).data?.stage,
    ).toBe('archived');
    const { data: rolledBack } = await admin.POST('/models/{id}/rollback', {
      params: { path: { id: `contract-${adapter}` } },
      body: {},
    });
    expect(rolledBack?.id).toBe(ids[0]);
    expect(
      (await alice.GET('/models/{id}', { params: { path: { id: `contract-${adapter}@production` } } })).data
        ?.id,
    ).toBe(ids[0]);
  });

  it('classifies with /predict and evaluates and compares classifiers', async () => {
    const client = createTunekitClient({ baseUrl: server.url, token: tokens.alice });
    const { data: prediction } = await client.POST('/predict', {
      body: { text: 'a great movie', model: 'keywords' },
    });
    expect(prediction).toMatchObject({
      label: 'positive',
      probability: 0.9,
      base_model: 'rules',
      language: 'en',
      model: 'keywords',
    });
    expect(prediction?.latency_ms).toBeGreaterThanOrEqual(0);
    const rows = [
      { text: 'good film', label: 'positive' },
      { text: 'great cast', label: 'positive' },
      { text: 'dull plot', label: 'negative' },
      { text: 'bad acting', label: 'negative' },
    ];
    const { data: evaluation, response } = await client.POST('/evaluate/{model_id}', {
      params: { path: { model_id: 'keywords' } },
      body: { dataset: { rows }, evaluators: ['accuracy'], bootstrap_resamples: 0 },
    });
    expect(response.status).toBe(200);
    expect(evaluation).toMatchObject({
      model_id: 'keywords',
      metrics: { accuracy: expect.objectContaining({ value: 1 }) },
    });
    const { data: comparison } = await client.POST('/evaluate/compare', {
      body: {
        models: ['keywords', 'always-negative'],
        dataset: { rows },
        evaluators: ['accuracy'],
        bootstrap_resamples: 0,
      },
    });
    expect(comparison?.model_ids).toEqual(['keywords', 'always-negative']);
    const viewer = await call(
      '/evaluate/keywords',
      json('victor', 'POST', { dataset: { rows }, evaluators: ['accuracy'] }),
    );
    expect(viewer.status).toBe(403);
  });

  it('manages users (admin only): list without hashes, create, 409, 400, 404, role change, disable, delete', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    const listed = await call('/users', as('admin'));
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain('passwordHash');
    expect(text).not.toContain('$scrypt$');
    const { items } = JSON.parse(text) as { items: Array<{ username: string; has_password: boolean }> };
    expect(items.map((user) => user.username)).toEqual(expect.arrayContaining(['admin', 'alice', 'victor']));
    expect(items.every((user) => user.has_password)).toBe(true);
    expect((await admin.GET('/users', { params: { query: { limit: 2 } } })).data?.items).toHaveLength(2);
    for (const user of ['alice', 'victor']) expect((await call('/users', as(user))).status).toBe(403);
    expect((await call('/users', { headers: { 'x-api-key': apiKey } })).status).toBe(403);
    expect((await call('/users')).status).toBe(401);
    const denied = await call(
      '/users',
      json('alice', 'POST', { username: 'mallory', password: 'Tulip-Garden-42', roles: ['admin'] }),
    );
    expect(denied.status).toBe(403);
    expect(
      await kit.audit.query({ actor: 'alice', action: 'http.createUser', outcome: 'denied' }),
    ).toMatchObject({
      items: [expect.objectContaining({ requestId: expect.any(String) })],
    });

    const created = await admin.POST('/users', {
      body: { username: 'carol', password: 'Tulip-Garden-42', roles: ['user'], display_name: 'Carol' },
    });
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({
      username: 'carol',
      roles: ['user'],
      disabled: false,
      has_password: true,
    });
    expect(JSON.stringify(created.data)).not.toContain('scrypt');
    const login = async (username: string, password: string) => {
      const response = await call('/auth/login', json('none', 'POST', { username, password }));
      return response.status === 200
        ? ((await response.json()) as { access_token: string }).access_token
        : response.status;
    };
    const carol = await login('carol', 'Tulip-Garden-42');
    expect(typeof carol).toBe('string');
    const carolMe = () => call('/auth/me', { headers: { authorization: `Bearer ${carol}` } });
    expect(await (await carolMe()).json()).toMatchObject({ id: 'carol', roles: ['user'] });

    const duplicate = await admin.POST('/users', {
      body: { username: 'carol', password: 'Another-Garden-7', roles: ['viewer'] },
    });
    expect(duplicate.response.status).toBe(409);
    expect(duplicate.error).toMatchObject({ code: 'USER_EXISTS', status: 409 });
    const invalid: Array<[unknown, string]> = [
      [{ username: 'dave', password: 'short', roles: ['user'] }, 'password'],
      [{ username: 'dave', password: 'aaaaabbbbbaaaaa', roles: ['user'] }, 'password'],
      [{ username: 'dave', password: 'dave-is-my-name', roles: ['user'] }, 'password'],
      [{ username: 'Dave Smith', password: 'Tulip-Garden-42', roles: ['user'] }, 'username'],
      [{ username: 'dave', password: 'Tulip-Garden-42', roles: [] }, 'roles'],
      [{ username: 'dave', password: 'Tulip-Garden-42', roles: ['root'] }, 'roles.0'],
      [{ username: 'dave', password: 'Tulip-Garden-42', roles: ['user'], passwordHash: '$scrypt$x' }, ''],
    ];
    for (const [body, path] of invalid) {
      const response = await call('/users', json('admin', 'POST', body));
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: expect.arrayContaining([expect.objectContaining({ path: expect.stringContaining(path) })]),
      });
    }
    expect(await kit.audit.query({ resourceId: 'dave' })).toEqual({ items: [] });
    expect((await call('/users/nobody', json('admin', 'PATCH', { disabled: true }))).status).toBe(404);
    const missing = await call('/users/nobody', as('admin', { method: 'DELETE' }));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call('/users/carol', json('admin', 'PATCH', {}))).status).toBe(400);
    expect((await call('/users/carol', json('admin', 'PATCH', { roles: ['user'], extra: 1 }))).status).toBe(
      400,
    );

    // A role change ends the sessions issued before it; a new login carries the new role.
    const demoted = await admin.PATCH('/users/{username}', {
      params: { path: { username: 'carol' } },
      body: { roles: ['viewer'] },
    });
    expect(demoted.data).toMatchObject({ roles: ['viewer'] });
    const revoked = await carolMe();
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'revoked' } });
    const viewerToken = await login('carol', 'Tulip-Garden-42');
    expect(
      await (await call('/auth/me', { headers: { authorization: `Bearer ${viewerToken}` } })).json(),
    ).toMatchObject({
      roles: ['viewer'],
    });
    // Disabled: no login, tokens rejected, and they stay rejected once enabled again.
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'carol' } },
      body: { disabled: true },
    });
    expect(await login('carol', 'Tulip-Garden-42')).toBe(401);
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${viewerToken}` } })).status).toBe(
      401,
    );
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'carol' } },
      body: { disabled: false },
    });
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${viewerToken}` } })).status).toBe(
      401,
    );
    const again = await login('carol', 'Tulip-Garden-42');
    expect(typeof again).toBe('string');
    const deleted = await admin.DELETE('/users/{username}', { params: { path: { username: 'carol' } } });
    expect(deleted.data).toEqual({ username: 'carol', deleted: true });
    expect(await login('carol', 'Tulip-Garden-42')).toBe(401);
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${again}` } })).status).toBe(401);
    // Created again under the same name, tokens of the earlier carol stay dead.
    await admin.POST('/users', {
      body: { username: 'carol', password: 'Tulip-Garden-42', roles: ['viewer'] },
    });
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${again}` } })).status).toBe(401);
  });

  it('refuses to delete, disable or demote the last enabled admin (409 LAST_ADMIN)', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    const attempts = [
      await call('/users/admin', as('admin', { method: 'DELETE' })),
      await call('/users/admin', json('admin', 'PATCH', { disabled: true })),
      await call('/users/admin', json('admin', 'PATCH', { roles: ['user'] })),
    ];
    for (const response of attempts) {
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ code: 'LAST_ADMIN', details: { username: 'admin' } });
    }
    expect((await admin.GET('/auth/me')).data).toMatchObject({ id: 'admin', roles: ['admin'] });
    // With a second admin, one of the two may go; then the other is the last again.
    await admin.POST('/users', {
      body: { username: 'dana', password: 'Second-Admin-99', roles: ['admin', 'user'] },
    });
    const dana = createTunekitClient({ baseUrl: server.url });
    await dana.login('dana', 'Second-Admin-99');
    expect(
      (
        await dana.PATCH('/users/{username}', {
          params: { path: { username: 'dana' } },
          body: { roles: ['user'] },
        })
      ).response.status,
    ).toBe(200);
    expect((await call('/users/admin', as('admin', { method: 'DELETE' }))).status).toBe(409);
    expect(
      (await admin.DELETE('/users/{username}', { params: { path: { username: 'dana' } } })).response.status,
    ).toBe(200);
  });

  it("stops a user's API key while the user is missing or disabled, and after deletion", async () => {
    const withKey = () => call('/auth/me', { headers: { 'x-api-key': erinKey } });
    expect((await withKey()).status).toBe(401);
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    await admin.POST('/users', { body: { username: 'erin', password: 'Snowy-Owl-2024', roles: ['user'] } });
    expect(await (await withKey()).json()).toMatchObject({ id: 'erin', roles: ['user'] });
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'erin' } },
      body: { disabled: true },
    });
    const disabled = await withKey();
    expect(disabled.status).toBe(401);
    expect(await disabled.json()).toMatchObject({ details: { reason: 'revoked' } });
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'erin' } },
      body: { disabled: false, roles: ['viewer'] },
    });
    expect(await (await withKey()).json()).toMatchObject({ id: 'erin', roles: ['viewer'] });
    await admin.DELETE('/users/{username}', { params: { path: { username: 'erin' } } });
    expect((await withKey()).status).toBe(401);
  });

  it('changes the own password: needs the current one, checks strength, revokes older tokens', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    await admin.POST('/users', {
      body: { username: 'frank', password: 'Blue-Lagoon-11', roles: ['user'] },
    });
    const frank = createTunekitClient({ baseUrl: server.url });
    const oldToken = await frank.login('frank', 'Blue-Lagoon-11');
    const change = (body: unknown, user = oldToken) =>
      call('/users/me/password', {
        method: 'POST',
        headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const wrong = await change({ current_password: 'not-the-password', new_password: 'Green-Meadow-22' });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ code: 'CURRENT_PASSWORD_INCORRECT' });
    for (const newPassword of ['short', 'xxxxxyyyyyxxxxx', 'my-name-is-frank', 'Blue-Lagoon-11']) {
      const weak = await change({ current_password: 'Blue-Lagoon-11', new_password: newPassword });
      expect(weak.status).toBe(400);
      expect(await weak.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: [expect.objectContaining({ path: 'new_password' })],
      });
    }
    expect((await change({ new_password: 'Green-Meadow-22' })).status).toBe(400);
    await frank.changePassword('Blue-Lagoon-11', 'Green-Meadow-22');
    expect((await frank.GET('/auth/me')).data).toMatchObject({ id: 'frank', roles: ['user'] });
    const stale = await call('/auth/me', { headers: { authorization: `Bearer ${oldToken}` } });
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ details: { reason: 'revoked' } });
    const oldLogin = await call(
      '/auth/login',
      json('none', 'POST', { username: 'frank', password: 'Blue-Lagoon-11' }),
    );
    expect(oldLogin.status).toBe(401);
    await frank.login('frank', 'Green-Meadow-22');
    // Principals that are not local users have no password here; anonymous callers are rejected.
    const keyCaller = await call('/users/me/password', {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ current_password: 'whatever', new_password: 'Green-Meadow-33' }),
    });
    expect(keyCaller.status).toBe(404);
    expect((await call('/users/me/password', json('none', 'POST', {}))).status).toBe(401);
    // The store audits what reached it; the schema's rejections are the HTTP layer's single events.
    const events = await kit.audit.query({
      action: 'user.password.change',
      resourceId: 'frank',
      order: 'asc',
    });
    expect(events.items.map((event) => [event.actor, event.outcome, event.details.code])).toEqual([
      ['frank', 'denied', 'CURRENT_PASSWORD_INCORRECT'],
      ['frank', 'failure', 'VALIDATION_FAILED'],
      ['frank', 'failure', 'VALIDATION_FAILED'],
      ['frank', 'success', undefined],
    ]);
    const rejected = await kit.audit.query({ action: 'http.changeOwnPassword', actor: 'frank' });
    expect(rejected.items.map((event) => event.outcome)).toEqual(['failure', 'failure', 'failure']);
  });

  it('writes exactly one audit event per mutating request, with actor, outcome and request id', async () => {
    const eventsOf = async (requestId: string) => {
      const found = [];
      let cursor: string | undefined;
      do {
        const page = await kit.audit.query({ limit: 1000, cursor });
        found.push(...page.items.filter((event) => event.requestId === requestId));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return found;
    };
    let counter = 0;
    const send = async (
      user: string,
      method: string,
      path: string,
      body?: unknown,
      type = 'application/json',
    ) => {
      counter += 1;
      const requestId = `audit-${adapter}-${counter}`;
      const headers: Record<string, string> = { 'x-request-id': requestId };
      if (user === 'ci-bot') headers['x-api-key'] = apiKey;
      else if (user !== 'anonymous') headers.authorization = `Bearer ${tokens[user]}`;
      if (body !== undefined) headers['content-type'] = type;
      const response = await call(path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { response, requestId, payload: (await response.json()) as Record<string, unknown> };
    };
    const expectOne = async (
      sent: { response: Response; requestId: string },
      expected: { status: number; actor: string; outcome: string; action: string },
    ) => {
      expect(sent.response.status).toBe(expected.status);
      const events = await eventsOf(sent.requestId);
      expect(events.map((event) => [event.action, event.actor, event.outcome])).toEqual([
        [expected.action, expected.actor, expected.outcome],
      ]);
    };
    // Feedback: the service's event on success; the HTTP layer's when denied, invalid or unauthenticated.
    const feedback = { model_id: 'm', input: 'a', output: 'b', rating: 4 };
    await expectOne(await send('alice', 'POST', '/feedback', feedback), {
      status: 201,
      actor: 'alice',
      outcome: 'success',
      action: 'feedback.record',
    });
    await expectOne(await send('victor', 'POST', '/feedback', feedback), {
      status: 403,
      actor: 'victor',
      outcome: 'denied',
      action: 'http.recordFeedback',
    });
    await expectOne(await send('alice', 'POST', '/feedback', { ...feedback, rating: 9 }), {
      status: 400,
      actor: 'alice',
      outcome: 'failure',
      action: 'http.recordFeedback',
    });
    await expectOne(await send('anonymous', 'POST', '/feedback', feedback), {
      status: 401,
      actor: 'anonymous',
      outcome: 'denied',
      action: 'http.recordFeedback',
    });
    await expectOne(await send('alice', 'POST', '/feedback', '{"model_id": '), {
      status: 400,
      actor: 'alice',
      outcome: 'failure',
      action: 'http.recordFeedback',
    });
    // Dataset upload: the service audits success and failure (rows that fail strict validation).
    await expectOne(
      await send(
        'alice',
        'POST',
        `/datasets?name=audit-${adapter}`,
        '{"text":"a"}\n',
        'application/x-ndjson',
      ),
      {
        status: 201,
        actor: 'alice',
        outcome: 'success',
        action: 'dataset.register',
      },
    );
    await expectOne(
      await send('alice', 'POST', `/datasets?name=audit-${adapter}`, '{"nope":1}\n', 'application/x-ndjson'),
      {
        status: 422,
        actor: 'alice',
        outcome: 'failure',
        action: 'dataset.register',
      },
    );
    await expectOne(
      await send(
        'victor',
        'POST',
        `/datasets?name=audit-${adapter}`,
        '{"text":"a"}\n',
        'application/x-ndjson',
      ),
      {
        status: 403,
        actor: 'victor',
        outcome: 'denied',
        action: 'http.uploadDataset',
      },
    );
    // Training jobs audit nothing themselves: the HTTP layer writes the one event.
    const version = (await kit.datasets.get(`audit-${adapter}`))?.latestVersionId as string;
    await expectOne(
      await send('ci-bot', 'POST', '/train', {
        base_model: 'tiny',
        dataset_version_id: version,
        output_name: 'audit-run',
        hyperparameters: { max_steps: 1 },
      }),
      {
        status: 202,
        actor: 'ci-bot',
        outcome: 'success',
        action: 'http.submitTraining',
      },
    );
    // Model stage changes: the registry audits success and failure.
    const registered = await send('alice', 'POST', '/models', {
      name: `audit-${adapter}`,
      artifact_uri: 'artifact://models/audit/0',
    });
    await expectOne(registered, {
      status: 201,
      actor: 'alice',
      outcome: 'success',
      action: 'model.register',
    });
    const modelId = registered.payload.id as string;
    await expectOne(await send('admin', 'POST', `/models/${modelId}/transition`, { stage: 'staging' }), {
      status: 200,
      actor: 'admin',
      outcome: 'success',
      action: 'model.transition',
    });
    await expectOne(await send('admin', 'POST', `/models/${modelId}/transition`, { stage: 'staging' }), {
      status: 409,
      actor: 'admin',
      outcome: 'failure',
      action: 'model.transition',
    });
    await expectOne(await send('alice', 'POST', `/models/${modelId}/transition`, { stage: 'production' }), {
      status: 403,
      actor: 'alice',
      outcome: 'denied',
      action: 'http.transitionModel',
    });
    await expectOne(await send('admin', 'POST', '/models/no-such-model@1/deploy', {}), {
      status: 404,
      actor: 'admin',
      outcome: 'failure',
      action: 'http.deployModel',
    });
    // A/B tests and users.
    const abTest = await send('admin', 'POST', '/ab-tests', {
      name: `audit-${adapter}`,
      variants: [
        { model_id: 'a', weight: 1 },
        { model_id: 'b', weight: 1 },
      ],
      success_metric: { kind: 'rating', name: 'rating' },
    });
    await expectOne(abTest, { status: 201, actor: 'admin', outcome: 'success', action: 'abtest.create' });
    await expectOne(await send('admin', 'POST', `/ab-tests/${abTest.payload.id as string}/stop`, {}), {
      status: 200,
      actor: 'admin',
      outcome: 'success',
      action: 'abtest.stop',
    });
    const user = { username: `audit-${adapter}`, password: 'Audit-Password-1', roles: ['viewer'] };
    await expectOne(await send('admin', 'POST', '/users', user), {
      status: 201,
      actor: 'admin',
      outcome: 'success',
      action: 'user.create',
    });
    await expectOne(await send('admin', 'POST', '/users', user), {
      status: 409,
      actor: 'admin',
      outcome: 'failure',
      action: 'user.create',
    });
    await expectOne(await send('alice', 'POST', '/users', user), {
      status: 403,
      actor: 'alice',
      outcome: 'denied',
      action: 'http.createUser',
    });
    await expectOne(await send('admin', 'PATCH', `/users/${user.username}`, { disabled: true }), {
      status: 200,
      actor: 'admin',
      outcome: 'success',
      action: 'user.update',
    });
    await expectOne(await send('admin', 'DELETE', '/users/admin'), {
      status: 409,
      actor: 'admin',
      outcome: 'failure',
      action: 'user.delete',
    });
    await expectOne(await send('admin', 'DELETE', `/users/${user.username}`), {
      status: 200,
      actor: 'admin',
      outcome: 'success',
      action: 'user.delete',
    });
    await expectOne(
      await send('anonymous', 'POST', '/auth/login', { username: 'alice', password: 'alice-password' }),
      {
        status: 200,
        actor: 'alice',
        outcome: 'success',
        action: 'http.login',
      },
    );
  });

  // Last: its feedback would change the other tests' feedback exports.
  it('starts RLHF from feedback: exports preference pairs, queues a DPO train job, reports it under /rlhf/{id}', async () => {
    const modelId = `rlhf-model-${adapter}`;
    for (let index = 0; index < 3; index++) {
      const recorded = await call(
        '/feedback',
        json('alice', 'POST', {
          model_id: modelId,
          input: `question ${index}`,
          output: 'a rude answer',
          corrected_text: 'a polite answer',
          type: 'correction',
        }),
      );
      expect(recorded.status).toBe(201);
    }
    // Exporting everyone's feedback needs feedback:read: a plain user is refused, nothing queued.
    const jobsBefore = (await kit.jobs.list()).items.length;
    const refused = await call(
      '/rlhf',
      json('alice', 'POST', {
        base_model: 'tiny',
        output_name: 'polite',
        feedback_filter: { model_id: modelId },
      }),
    );
    expect(refused.status).toBe(403);
    expect((await kit.jobs.list()).items.length).toBe(jobsBefore);
    const started = await call(
      '/rlhf',
      json('admin', 'POST', {
        base_model: 'tiny',
        output_name: 'polite',
        feedback_filter: { model_id: modelId },
        beta: 0.2,
        lora: { r: 4 },
        hyperparameters: { max_steps: 2 },
      }),
    );
    expect(started.status).toBe(202);
    const accepted = (await started.json()) as { job_id: string; dataset_version_id: string; pairs: number };
    expect(accepted.pairs).toBe(3);
    const rows: unknown[] = [];
    for await (const row of kit.datasets.rows(accepted.dataset_version_id)) rows.push(row);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          prompt: 'question 0',
          chosen: 'a polite answer',
          rejected: 'a rude answer',
        }),
      ]),
    );
    const job = await kit.jobs.wait(accepted.job_id, { timeoutMs: 10_000 });
    expect(job.status).toBe('succeeded');
    expect((job.input as TrainingJobInput).dpo).toEqual({ beta: 0.2 });
    const status = await call(`/rlhf/${accepted.job_id}`, as('admin'));
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ id: accepted.job_id, status: 'succeeded' });
    // No pairs in the matching feedback: 422, nothing queued.
    const empty = await call(
      '/rlhf',
      json('admin', 'POST', {
        base_model: 'tiny',
        output_name: 'none',
        feedback_filter: { model_id: 'nobody' },
      }),
    );
    expect(empty.status).toBe(422);
    expect((await kit.jobs.list()).items.length).toBe(jobsBefore + 1);
  });
});

describe('plugin routes', () => {
  it.each<AdapterName>(['fastify', 'express'])(
    'serves routes a plugin adds on the route extension point, with policy and OpenAPI (%s)',
    async (adapter) => {
      const greeting = defineRoute({
        method: 'GET',
        path: '/hello/{name}',
        operationId: 'sayHello',
        summary: 'Greets',
        tag: 'plugins',
        access: 'models:read',
        params: z.object({ name: z.string().max(20) }),
        response: z.object({ greeting: z.string() }),
        handler: async ({ params, principal }) => ({
          greeting: `hello ${params.name} from ${principal?.id}`,
        }),
      });
      const kit = await createTunekit({
        plugins: [
          definePlugin({
            name: 'greeter',
            setup: (context) => void context.extensions.add('route', 'hello', { ...greeting }),
          }),
        ],
      });
      const server = await startTestServer(adapter, kit, {
        auth: { apiKeys: [{ name: 'k', key: apiKey, roles: ['viewer'] }] },
      });
      try {
        const response = await fetch(`${server.url}/hello/ada`, { headers: { 'x-api-key': apiKey } });
        expect(await response.json()).toEqual({ greeting: 'hello ada from k' });
        expect((await fetch(`${server.url}/hello/ada`)).status).toBe(401);
        const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
          paths: Record<string, unknown>;
        };
        expect(document.paths['/hello/{name}']).toBeDefined();
      } finally {
        await server.close();
        await kit.close();
      }
    },
  );
});

describe('without the registry plugin', () => {
  it.each<AdapterName>(['fastify', 'express'])(
    'model routes answer 501 NOT_IMPLEMENTED (%s)',
    async (adapter) => {
      const kit = await createTunekit({});
      const server = await startTestServer(adapter, kit, {
        auth: { apiKeys: [{ name: 'k', key: apiKey, roles: ['admin'] }] },
      });
      try {
        const response = await fetch(`${server.url}/models`, { headers: { 'x-api-key': apiKey } });
        expect(response.status).toBe(501);
        expect(await response.json()).toMatchObject({ code: 'NOT_IMPLEMENTED' });
      } finally {
        await server.close();
        await kit.close();
      }
    },
  );
});

describe('login rate limiting', () => {
  it.each<AdapterName>(['fastify', 'express'])(
    'answers 429 with Retry-After past the limit (%s)',
    async (adapter) => {
      const kit = await createTunekit({});
      const server = await startTestServer(adapter, kit, {
        auth: { jwtSecret: secret },
        loginRateLimit: { max: 3, windowMs: 60_000 },
      });
      try {
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 5; attempt++) {
          const response = await fetch(`${server.url}/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'nobody', password: 'guess-guess' }),
          });
          statuses.push(response.status);
          if (response.status === 429) expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        }
        expect(statuses).toEqual([401, 401, 401, 429, 429]);
      } finally {
        await server.close();
        await kit.close();
      }
    },
  );
});
