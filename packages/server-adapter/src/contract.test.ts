import type { Tunekit } from '@tunekit/core';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTunekitClient } from './client/create-tunekit-client.js';
import { apiKey, secret, useContractServer } from './contract-test-fixture.js';
import { openApiDocument } from './openapi/openapi-document.js';
import type { AdapterName, RunningTestServer } from './testing/start-test-server.js';

describe.each<AdapterName>(['fastify', 'express'])('HTTP contract (%s adapter, loopback)', (adapter) => {
  const fixture = useContractServer(adapter);
  const { tokens, as, json, call } = fixture;
  let kit: Tunekit;
  let server: RunningTestServer;
  beforeAll(() => {
    kit = fixture.kit;
    server = fixture.server;
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
      const exposureToken = assignment?.exposure_token as string;
      const { response: exposed } = await user.POST('/ab-tests/{id}/record', {
        params: { path: { id } },
        body: { unit_id: `u${unit}`, exposure: true, exposure_token: exposureToken },
      });
      expect(exposed.status).toBe(200);
      const { response: recorded } = await user.POST('/feedback', {
        body: {
          model_id: assignment?.model_id as string,
          input: 'hi',
          output: 'hello',
          rating: assignment?.variant === 'a' ? 5 : 3,
          ab_test_id: id,
          unit_id: `u${unit}`,
          exposure_token: exposureToken,
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
    // The 404 says what is served instead.
    expect(((await generate.json()) as { detail: string }).detail).toMatch(
      /No model "missing" is served: served are tiny, tiny-gpt2, .*job:<id>/,
    );
    const invalid = await call('/generate', json('alice', 'POST', { prompt: 'hi', max_tokens: 0 }));
    expect(await invalid.json()).toMatchObject({
      status: 400,
      issues: [expect.objectContaining({ path: 'max_tokens' })],
    });
    expect((await call('/predict', json('alice', 'POST', { text: 'great', model: 'missing' }))).status).toBe(
      404,
    );
  });

  it('names fields in the wire casing in validation errors, also those a service or a server limit reports', async () => {
    const response = await call(
      '/train',
      json('alice', 'POST', {
        base_model: 'tiny',
        dataset_version_id: 'none',
        output_name: 'too-long',
        hyperparameters: { max_steps: 200_000, batch_size: 4 },
      }),
    );
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { detail: string; issues: Array<{ path: string }> };
    expect(problem.issues.map((issue) => issue.path)).toEqual(['hyperparameters.max_steps']);
    expect(problem.detail).toContain('hyperparameters.max_steps must be at most 100000');
    expect(JSON.stringify(problem)).not.toMatch(/maxSteps|batchSize/);

    // A rule of the job contract (checked when the job is submitted): its fields in snake_case too.
    const version = (await kit.datasets.list()).items.find(
      (dataset) => dataset.name === `contract-${adapter}`,
    )?.latestVersionId as string;
    const refused = await call(
      '/train',
      json('alice', 'POST', {
        base_model: 'tiny',
        dataset_version_id: version,
        output_name: 'qlora',
        quantization: { bits: 4, block_size: 32 },
      }),
    );
    expect(refused.status).toBe(400);
    const contract = (await refused.json()) as { detail: string; details: { received: string[] } };
    expect(contract.detail).toContain('quantization: a 4-bit quantized base needs lora settings');
    expect(contract.details.received).toEqual(expect.arrayContaining(['base_model', 'output_name']));
    expect(JSON.stringify(contract)).not.toMatch(/baseModel|outputName|blockSize/);
    const accepted = await call(
      '/train',
      json('alice', 'POST', {
        base_model: 'tiny',
        dataset_version_id: version,
        output_name: 'qlora',
        lora: { r: 4 },
        quantization: { bits: 4, block_size: 32 },
        hyperparameters: { max_steps: 1 },
      }),
    );
    expect(accepted.status).toBe(202);
    const { job_id } = (await accepted.json()) as { job_id: string };
    expect((await kit.jobs.get(job_id))?.input).toMatchObject({ quantization: { bits: 4, blockSize: 32 } });
  });

  it('evaluates a served language model over HTTP with its real per-token log-probabilities (perplexity)', async () => {
    const rows = [
      { prompt: 'the cat', completion: ' sat on the mat' },
      { prompt: 'a dog', completion: ' ran in the park' },
    ];
    const response = await call(
      '/evaluate/tiny-gpt2',
      json('alice', 'POST', {
        dataset: { rows },
        evaluators: ['perplexity'],
        bootstrap_resamples: 0,
        max_tokens: 2,
      }),
    );
    expect(response.status).toBe(200);
    const evaluation = (await response.json()) as {
      model_id: string;
      metrics: Record<string, { value: number }>;
    };
    expect(evaluation.model_id).toBe('tiny-gpt2');
    // The same model opened here: exp(−Σ log p / Σ tokens) over each completion after its prompt.
    const { openModel } = await import('@tunekit/trainer');
    const model = await openModel(fixture.gpt2Folder);
    let sum = 0;
    let count = 0;
    for (const row of rows) {
      const context = model.tokenizer.encode(row.prompt, { addSpecialTokens: true });
      const continuation = model.tokenizer.encode(row.completion);
      const scores = await model.logProbabilities([...context, ...continuation]);
      for (const score of scores.slice(-continuation.length)) {
        sum += score;
        count += 1;
      }
    }
    await model.close();
    expect(count).toBe(' sat on the mat'.length + ' ran in the park'.length);
    expect(evaluation.metrics.negative_log_likelihood?.value).toBeCloseTo(-sum / count, 5);
    expect(evaluation.metrics.perplexity?.value).toBeCloseTo(Math.exp(-sum / count), 3);
    // An untrained byte-level model is near-uniform over its 257 ids.
    expect(evaluation.metrics.perplexity?.value).toBeGreaterThan(100);
  });

  it('registers, lists, searches, recommends, transitions, deploys and rolls back models (admin transitions only)', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    const alice = createTunekitClient({ baseUrl: server.url, token: tokens.alice });
    const ids: string[] = [];
    const version = (await kit.datasets.get(`contract-${adapter}`))?.latestVersionId as string;
    for (const [index, description] of [
      'sentiment classifier for movie reviews',
      'french summarizer of news',
    ].entries()) {
      // A user registers artifacts of their own: the output of a job they ran.
      const { data: accepted } = await alice.POST('/train', {
        body: {
          base_model: 'tiny',
          dataset_version_id: version,
          output_name: `contract-model-${index}`,
          hyperparameters: { max_steps: 1 },
        },
      });
      const job = await kit.jobs.wait(accepted?.job_id as string, { timeoutMs: 20_000 });
      const { data, response } = await alice.POST('/models', {
        body: {
          name: `contract-${adapter}`,
          artifact_uri: (job.output as { output: string }).output,
          training_job_id: job.id,
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
    // Someone else's artifact (here: not from any job of alice's) is refused.
    const foreign = await alice.POST('/models', {
      body: { name: 'x', artifact_uri: 'artifact://models/contract/elsewhere' },
    });
    expect(foreign.response.status).toBe(403);
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
});
