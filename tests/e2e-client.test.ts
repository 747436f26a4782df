import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Tunekit } from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import { createServer, type TunekitServer } from '@tunekit/server-adapter';
import { type ClientServerSentEvent, createTunekitClient } from '@tunekit/server-adapter/client';
import { trainerPlugin } from '@tunekit/trainer';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let directory: string;
let kit: Tunekit;
let server: TunekitServer;
let baseUrl: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-e2e-client-'));
  const model = await createTinyGpt2(join(directory, 'tiny-gpt2'));
  kit = await createTunekit({
    dataDirectory: join(directory, 'kit'),
    plugins: [trainerPlugin(), registryPlugin()],
  });
  server = await createServer(kit, {
    auth: { jwtSecret: 'e2e-secret-of-at-least-thirty-two-chars' },
    users: [
      { username: 'admin', password: 'admin-password', roles: ['admin'] },
      { username: 'alice', password: 'alice-password', roles: ['user'] },
    ],
    models: { 'tiny-gpt2': { path: model, baseModel: 'tiny-gpt2', language: 'en', threads: 1 } },
    defaultModel: 'tiny-gpt2',
  });
  baseUrl = await server.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await kit?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('end to end through the typed client on 127.0.0.1', () => {
  it('logs in, uploads, trains following SSE, registers and promotes, generates, records feedback and reads an A/B result', async () => {
    const alice = createTunekitClient({ baseUrl });
    await alice.login('alice', 'alice-password');
    const admin = createTunekitClient({ baseUrl });
    await admin.login('admin', 'admin-password');

    // Upload a dataset (JSON lines, streamed to the server).
    const lines = Array.from({ length: 24 }, (_, index) =>
      JSON.stringify({ text: `the cat sat on the mat, take ${index}. ` }),
    );
    const version = await alice.uploadDataset(
      { name: 'cats', kind: 'training' },
      `${lines.join('\n')}\n`,
      'application/x-ndjson',
    );
    expect(version).toMatchObject({ name: 'cats', row_count: 24, row_format: 'text' });

    // Train a tiny LoRA adapter and follow the job over Server-Sent Events until it ends.
    const { data: accepted, response } = await alice.POST('/train', {
      body: {
        base_model: 'tiny-gpt2',
        dataset_version_id: version.id,
        output_name: 'cats-lora',
        lora: { r: 4, alpha: 8 },
        hyperparameters: {
          max_steps: 6,
          batch_size: 4,
          max_length: 32,
          learning_rate: 0.01,
          checkpoint_every: 3,
        },
        threads: 1,
        register_as: { name: 'cats-lora', task: 'text-generation', language: 'en', tags: ['e2e'] },
      },
    });
    expect(response.status).toBe(202);
    const jobId = accepted?.job_id as string;
    const events: ClientServerSentEvent[] = [];
    for await (const event of alice.trainingEvents(jobId)) events.push(event);
    const names = events.map((event) => event.event);
    expect(names[0]).toBe('status');
    expect(names).toEqual(expect.arrayContaining(['progress', 'step', 'checkpoint', 'succeeded']));
    expect(names.filter((name) => name === 'step')).toHaveLength(6);
    const final = events.at(-1)?.data as { status: string; progress: number };
    expect(final).toMatchObject({ status: 'succeeded', progress: 1 });
    const { data: checkpoints } = await alice.GET('/train/{id}/checkpoints', {
      params: { path: { id: jobId } },
    });
    expect(checkpoints?.items.map((item) => item.name)).toContain('step-000006');

    // The registry registered the output (register_as); promote it to production.
    let registered: { id: string; stage: string } | undefined;
    for (let attempt = 0; attempt < 50 && !registered; attempt++) {
      const { data } = await alice.GET('/models', { params: { query: { name: 'cats-lora' } } });
      registered = data?.items[0];
      if (!registered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(registered).toMatchObject({ stage: 'draft' });
    const versionId = registered?.id as string;
    await admin.POST('/models/{id}/transition', {
      params: { path: { id: versionId } },
      body: { stage: 'staging' },
    });
    const { data: deployed } = await admin.POST('/models/{id}/deploy', {
      params: { path: { id: versionId } },
      body: {},
    });
    expect(deployed).toMatchObject({ id: versionId, stage: 'production', training_job_id: jobId });

    // Generate with the production version (base model + trained adapter, loaded lazily), as JSON and as SSE.
    const { data: generated } = await alice.POST('/generate', {
      body: { prompt: 'the cat', max_tokens: 12, temperature: 0, top_p: 1, model: 'cats-lora@production' },
    });
    expect(generated?.tokens_generated).toBeGreaterThan(0);
    expect(generated?.finish_reason).toMatch(/stop|length/);
    // A bare model name serves its production version.
    const { data: byBareName } = await alice.POST('/generate', {
      body: { prompt: 'the cat', max_tokens: 12, temperature: 0, top_p: 1, model: 'cats-lora' },
    });
    expect(byBareName?.text).toBe(generated?.text);
    const streamed: string[] = [];
    let done: { text: string } | undefined;
    for await (const event of alice.generateStream({
      prompt: 'the cat',
      max_tokens: 12,
      temperature: 0,
      model: 'cats-lora@production',
    })) {
      if (event.event === 'token') streamed.push((event.data as { text: string }).text);
      if (event.event === 'done') done = event.data as { text: string };
    }
    expect(streamed.join('')).toBe(generated?.text);
    expect(done?.text).toBe(generated?.text);
    const { data: health } = await alice.GET('/health');
    expect(health?.models_loaded).toContain('cats-lora@production');

    // A/B test between the base model and the fine-tuned version; feedback ratings are its outcomes.
    const { data: test } = await admin.POST('/ab-tests', {
      body: {
        name: 'base-vs-lora',
        variants: [
          { model_id: 'tiny-gpt2', weight: 1, name: 'base' },
          { model_id: versionId, weight: 1, name: 'lora' },
        ],
        success_metric: { kind: 'rating', name: 'rating' },
        min_samples_per_variant: 5,
      },
    });
    const testId = test?.id as string;
    for (let unit = 0; unit < 30; unit++) {
      const unitId = `user-${unit}`;
      const { data: assignment } = await alice.POST('/ab-tests/{id}/assign', {
        params: { path: { id: testId } },
        body: { unit_id: unitId },
      });
      await alice.POST('/ab-tests/{id}/record', {
        params: { path: { id: testId } },
        body: { unit_id: unitId, exposure: true, exposure_token: assignment?.exposure_token },
      });
      const { response: recorded } = await alice.POST('/feedback', {
        body: {
          model_id: assignment?.model_id as string,
          input: 'the cat',
          output: generated?.text ?? '',
          rating: assignment?.variant === 'lora' ? 5 : 2,
          ab_test_id: testId,
          unit_id: unitId,
          exposure_token: assignment?.exposure_token,
        },
      });
      expect(recorded.status).toBe(201);
    }
    const { data: results } = await alice.GET('/ab-tests/{id}/results', { params: { path: { id: testId } } });
    const summary = results as {
      variants: Array<{ name: string; n: number; exposures: number; mean: number | null }>;
      winner: string | null;
    };
    const byName = Object.fromEntries(summary.variants.map((variant) => [variant.name, variant]));
    expect(Object.keys(byName).sort()).toEqual(['base', 'lora']);
    expect((byName.base?.n ?? 0) + (byName.lora?.n ?? 0)).toBe(30);
    expect(byName.lora?.mean).toBe(5);
    expect(byName.base?.mean).toBe(2);
    expect(summary.winner).toBe('lora');
    const { data: stats } = await admin.GET('/feedback/stats', { params: { query: { ab_test_id: testId } } });
    expect(stats).toMatchObject({ count: 30 });

    // Everything alice changed is in the audit log with her name and a request id.
    const { data: audit } = await admin.GET('/audit/logs', {
      params: { query: { actor: 'alice', action: 'http.submitTraining' } },
    });
    expect(audit?.items[0]).toMatchObject({ outcome: 'success', request_id: expect.any(String) });
  }, 120_000);
});
