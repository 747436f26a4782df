import { createTunekit, definePlugin, type TrainingJobInput, type Tunekit } from '@tunekit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiKey, useContractServer } from './contract-test-fixture.js';
import { defineRoute } from './routes/route-definition.js';
import { type AdapterName, type RunningTestServer, startTestServer } from './testing/start-test-server.js';

describe.each<AdapterName>(['fastify', 'express'])('HTTP contract (%s adapter, loopback)', (adapter) => {
  const fixture = useContractServer(adapter);
  const { tokens, as, json, call } = fixture;
  let kit: Tunekit;
  let _server: RunningTestServer;
  beforeAll(() => {
    kit = fixture.kit;
    _server = fixture.server;
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
    // A user registers an artifact of their own: the output of a job they ran.
    const aliceRun = await send('alice', 'POST', '/train', {
      base_model: 'tiny',
      dataset_version_id: version,
      output_name: 'audit-model',
      hyperparameters: { max_steps: 1 },
    });
    const aliceJob = await kit.jobs.wait(aliceRun.payload.job_id as string, { timeoutMs: 20_000 });
    await expectOne(
      await send('bob', 'POST', '/models', {
        name: `audit-bob-${adapter}`,
        artifact_uri: (aliceJob.output as { output: string }).output,
      }),
      { status: 403, actor: 'bob', outcome: 'denied', action: 'http.registerModel' },
    );
    const registered = await send('alice', 'POST', '/models', {
      name: `audit-${adapter}`,
      artifact_uri: (aliceJob.output as { output: string }).output,
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
    expect(await empty.json()).toMatchObject({ code: 'DATASET_EMPTY' });
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
