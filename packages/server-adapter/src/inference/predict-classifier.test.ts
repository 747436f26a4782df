import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Predictor, type Tunekit } from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import {
  type ClassificationPrediction,
  createClassifier,
  createModel,
  createTrainer,
  writeWordPieceTokenizer,
} from '@tunekit/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterName, type RunningTestServer, startTestServer } from '../testing/start-test-server.js';

const rows = [
  { text: 'win free money now', label: 'spam' },
  { text: 'claim your free prize', label: 'spam' },
  { text: 'cheap pills free offer', label: 'spam' },
  { text: 'the meeting is at noon', label: 'ham' },
  { text: 'see the attached report', label: 'ham' },
  { text: 'lunch with the team tomorrow', label: 'ham' },
];
const users = [
  { username: 'alice', password: 'alice-password', roles: ['user' as const] },
  { username: 'bob', password: 'bob-password-1', roles: ['user' as const] },
];
const texts = ['win a free prize now', 'the report is attached'];

let root: string;
let bertDirectory: string;
let adapterDirectory: string;
let gpt2Directory: string;
/** What `createClassifier` answers in process, without and with the adapter: the HTTP answers must match. */
const expected: { base: ClassificationPrediction[]; tuned: ClassificationPrediction[] } = {
  base: [],
  tuned: [],
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tunekit-predict-'));
  bertDirectory = join(root, 'bert');
  adapterDirectory = join(root, 'bert-lora');
  gpt2Directory = join(root, 'gpt2');
  const vocabulary = await writeWordPieceTokenizer(
    bertDirectory,
    rows.map((row) => row.text),
    { vocabSize: 120 },
  );
  await createModel({
    architecture: 'bert',
    directory: bertDirectory,
    vocab_size: vocabulary,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 32,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    initializer_range: 0.3,
    id2label: { 0: 'ham', 1: 'spam' },
    seed: 3,
  });
  const trainer = await createTrainer({
    model: bertDirectory,
    lora: { r: 4, alpha: 8, targetModules: ['query', 'value'] },
  });
  await trainer.train(rows, { maxSteps: 20, batchSize: 6, learningRate: 3e-2 });
  await trainer.saveAdapter(adapterDirectory);
  await trainer.close();
  await createModel({
    architecture: 'gpt2',
    directory: gpt2Directory,
    vocab_size: 50,
    n_positions: 16,
    n_embd: 8,
    n_layer: 1,
    n_head: 2,
    seed: 5,
  });
  const base = await createClassifier({ model: bertDirectory });
  expected.base = await base.predict(texts, { topK: 2 });
  await base.close();
  const tuned = await createClassifier({ model: bertDirectory, adapter: adapterDirectory });
  expected.tuned = await tuned.predict(texts, { topK: 2 });
  await tuned.close();
  // The adapter changes the answers, so a route that ignored it would fail the comparisons below.
  expect(expected.tuned.map((prediction) => prediction.probability)).not.toEqual(
    expected.base.map((prediction) => prediction.probability),
  );
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A `/predict` answer, or a problem document. */
interface PredictAnswer {
  label: string;
  label_id?: number;
  probability: number;
  latency_ms: number;
  base_model?: string;
  language?: string;
  model: string;
  top_k: Array<{ label: string; probability: number }>;
  code?: string;
  title?: string;
  detail?: string;
}

/** A rule predictor given through the `predictors` option. */
const rules: Predictor & { baseModel: string; language: string } = {
  id: 'rules',
  baseModel: 'rules',
  language: 'en',
  predict: ({ input }) => {
    const score = /free/.test(String(input)) ? 0.8 : 0.3;
    return { probabilities: { spam: score, ham: 1 - score } };
  },
};

describe.each<AdapterName>(['fastify', 'express'])(
  'POST /predict with BERT classifiers (%s adapter)',
  (adapter) => {
    let kit: Tunekit;
    let server: RunningTestServer;
    let jobId: string;
    const tokens: Record<string, string> = {};
    const post = (user: string, path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[user]}` },
        body: JSON.stringify(body),
      });
    const predict = async (user: string, body: Record<string, unknown>) => {
      const response = await post(user, '/predict', body);
      return {
        status: response.status,
        type: response.headers.get('content-type'),
        body: (await response.json()) as PredictAnswer,
      };
    };

    beforeAll(async () => {
      kit = await createTunekit({ plugins: [registryPlugin()] });
      // A stand-in `train` job whose output is the adapter trained above (the real job is the trainer plugin's).
      kit.jobs.register('train', async () => ({ output: adapterDirectory }));
      const job = await kit.jobs.submit(
        'train',
        {
          baseModel: bertDirectory,
          dataset: { rows: [{ text: 'win', label: 'spam' }] },
          // What the real job records: its LoRA settings make its output an adapter over baseModel.
          lora: { r: 4, alpha: 8, targetModules: ['query', 'value'] },
        },
        { owner: 'alice' },
      );
      jobId = job.id;
      expect((await kit.jobs.wait(jobId, { timeoutMs: 10_000 })).status).toBe('succeeded');
      // A registry version trained by that job, its adapter in the artifact store (downloaded on load).
      for (const file of await readdir(adapterDirectory)) {
        await kit.artifacts.put(
          `artifact://models/spam-lora/${file}`,
          await readFile(join(adapterDirectory, file)),
        );
      }
      const version = await kit.registry.register({
        name: 'spam-lora',
        artifactUri: 'artifact://models/spam-lora',
        trainingJobId: jobId,
        task: 'text-classification',
        language: ['en'],
      });
      await kit.registry.transition(version.id, 'staging');
      await kit.registry.deploy(version.id);

      server = await startTestServer(adapter, kit, {
        auth: { jwtSecret: 'predict-test-secret-with-32-characters!' },
        users,
        models: {
          spam: { path: bertDirectory, baseModel: 'tiny-bert', language: 'en', task: 'text-classification' },
          storyteller: { path: gpt2Directory },
        },
        predictors: [rules],
      });
      for (const user of users) {
        const response = await post('none', '/auth/login', {
          username: user.username,
          password: user.password,
        });
        tokens[user.username] = ((await response.json()) as { access_token: string }).access_token;
      }
    }, 30_000);
    afterAll(async () => {
      await server.close();
      await kit.close();
    });

    it('loads a configured BERT folder on first use, caches it and answers { label, probability, latency_ms }', async () => {
      const health = async () =>
        ((await (await fetch(`${server.url}/health`)).json()) as { models_loaded: string[] }).models_loaded;
      expect(await health()).not.toContain('spam');
      for (const [index, text] of texts.entries()) {
        const { status, body } = await predict('alice', { text, model: 'spam' });
        expect(status).toBe(200);
        const reference = expected.base[index] as ClassificationPrediction;
        expect(body).toMatchObject({
          label: reference.label,
          label_id: reference.label_id,
          base_model: 'tiny-bert',
          language: 'en',
          model: 'spam',
        });
        expect(body.probability).toBeCloseTo(reference.probability, 5);
        expect(body.latency_ms).toBeGreaterThanOrEqual(0);
        expect(body.top_k).toBeUndefined();
      }
      expect(await health()).toContain('spam');
      expect(server.context.models.loaded().filter((id) => id === 'spam')).toHaveLength(1);
      const ranked = await predict('alice', { text: texts[0], model: 'spam', top_k: 2 });
      expect(ranked.body.top_k.map((entry) => entry.label).sort()).toEqual(['ham', 'spam']);
      expect((ranked.body.top_k[0]?.probability ?? 0) + (ranked.body.top_k[1]?.probability ?? 0)).toBeCloseTo(
        1,
        5,
      );
      expect(ranked.body.top_k[0]?.label).toBe(ranked.body.label);
    });

    it('loads job:<id> outputs (owner only) and registry references with their adapter', async () => {
      for (const model of [`job:${jobId}`, 'spam-lora@production']) {
        for (const [index, text] of texts.entries()) {
          const { status, body } = await predict('alice', { text, model });
          expect(status).toBe(200);
          const reference = expected.tuned[index] as ClassificationPrediction;
          expect(body).toMatchObject({ label: reference.label, base_model: 'tiny-bert', model });
          expect(body.probability).toBeCloseTo(reference.probability, 5);
        }
      }
      expect((await predict('alice', { text: 'x', model: 'spam-lora@production' })).body.language).toBe('en');
      const other = await predict('bob', { text: 'hello', model: `job:${jobId}` });
      expect(other.status).toBe(404);
      expect(other.body.code).toBe('NOT_FOUND');
      expect((await predict('alice', { text: 'hello', model: 'nothing@production' })).status).toBe(404);
    });

    it('answers MODEL_TASK_MISMATCH for a generative model on /predict and a classifier on /generate', async () => {
      const generative = await predict('alice', { text: 'hello', model: 'storyteller' });
      expect(generative.status).toBe(400);
      expect(generative.type).toContain('application/problem+json');
      expect(generative.body).toMatchObject({ code: 'MODEL_TASK_MISMATCH' });
      expect(generative.body.detail ?? generative.body.title).toMatch(/generative/);
      expect(server.context.models.loaded()).not.toContain('storyteller');
      const classifier = await post('alice', '/generate', { prompt: 'hello', model: 'spam' });
      expect(classifier.status).toBe(400);
      expect(((await classifier.json()) as { code: string }).code).toBe('MODEL_TASK_MISMATCH');
    });

    it('keeps the predictors option: by id, and as the default when no model is named', async () => {
      for (const body of [{ text: 'free stuff', model: 'rules' }, { text: 'free stuff' }]) {
        const answer = await predict('alice', body);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({
          label: 'spam',
          base_model: 'rules',
          language: 'en',
          model: 'rules',
        });
        expect(answer.body.probability).toBeCloseTo(0.8, 5);
      }
      const ranked = await predict('alice', { text: 'hello', model: 'rules', top_k: 2 });
      expect(ranked.body.top_k).toEqual([
        { label: 'ham', probability: expect.closeTo(0.7, 5) },
        { label: 'spam', probability: expect.closeTo(0.3, 5) },
      ]);
    });
  },
);
