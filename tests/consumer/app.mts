// An ESM consumer of the packed packages (see run-consumer-test.sh): a short train → register →
// recommend flow, a Fastify and an Express host app, and the trainer's onnxruntime-node next to
// @huggingface/transformers in one process.
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type TrainingJobOutput } from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import { tunekitExpress, tunekitFastify } from '@tunekit/server-adapter';
import { createTunekitClient } from '@tunekit/server-adapter/client';
import { createModel, trainerPlugin } from '@tunekit/trainer';
import express from 'express';
import Fastify from 'fastify';

const dataDirectory = await mkdtemp(join(tmpdir(), 'tunekit-consumer-'));
const kit = await createTunekit({ dataDirectory, plugins: [trainerPlugin(), registryPlugin()] });
const registry = kit.registry;

// Train a tiny GPT-2 for a few steps in the trainer's worker thread; the job registers its output.
const base = join(dataDirectory, 'base');
await createModel({
  architecture: 'gpt2',
  directory: base,
  n_layer: 1,
  n_embd: 16,
  n_head: 2,
  n_positions: 32,
});
const rows = ['Call me Ishmael.', 'Some years ago, never mind how long precisely,'].map((text) => ({ text }));
const data = await kit.datasets.register({ name: 'moby', kind: 'training', source: { rows } });
const job = await kit.jobs.submit('train', {
  baseModel: base,
  dataset: { versionId: data.id },
  hyperparameters: { maxSteps: 3, batchSize: 2, learningRate: 5e-3 },
  registerAs: { name: 'moby', description: 'opening lines of a whaling novel' },
});
const done = await kit.jobs.wait(job.id);
const trained = (done.output as TrainingJobOutput | undefined)?.registered?.reference;
if (done.status !== 'succeeded' || trained !== 'moby@1') throw new Error(`train: ${done.status} ${trained}`);
console.log('train → register:', trained);
await registry.register({
  name: 'notes',
  artifactUri: 'artifact://models/notes',
  baseModel: 'gpt2',
  task: 'text-generation',
  description: 'summarizes meeting notes',
});
await registry.register({
  name: 'spam',
  artifactUri: 'artifact://models/spam',
  baseModel: 'bert',
  task: 'text-classification',
  description: 'flags spam e-mail',
});
const [best] = await registry.recommend({ text: 'meeting notes summary', k: 1 });
if (best?.model.name !== 'notes') throw new Error(`recommend returned ${best?.model.name}`);
console.log('register → recommend:', best.model.id);

const fastify = Fastify();
await fastify.register(tunekitFastify, { kit, prefix: '/api' });
const health = await fastify.inject({ method: 'GET', url: '/api/health' });
if (health.statusCode !== 200) throw new Error(`fastify /api/health: ${health.statusCode}`);
await fastify.close();
console.log('fastify host: /api/health 200');

const app = express();
app.use('/api', tunekitExpress(kit));
const server = app.listen(0);
await new Promise((resolve) => server.once('listening', resolve));
const address = server.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;
const client = createTunekitClient({ baseUrl: `http://127.0.0.1:${port}/api` });
const live = await fetch(`http://127.0.0.1:${port}/api/health`);
server.close();
if (live.status !== 200 || client === undefined) throw new Error(`express /api/health: ${live.status}`);
console.log('express host: /api/health 200');
await kit.close();

// The trainer's onnxruntime-node and the one @huggingface/transformers uses, in one process.
const fromTrainer = createRequire(createRequire(import.meta.url).resolve('@tunekit/trainer'));
const ortTrainer = fromTrainer('onnxruntime-node') as {
  InferenceSession: unknown;
  env: { versions: { node?: string } };
};
const transformers = await import('@huggingface/transformers');
const fromTransformers = createRequire(createRequire(import.meta.url).resolve('@huggingface/transformers'));
const ortTransformers = fromTransformers('onnxruntime-node') as typeof ortTrainer;
if (ortTrainer !== ortTransformers || typeof transformers.pipeline !== 'function') {
  throw new Error('the trainer and transformers.js load different onnxruntime-node copies');
}
console.log(
  'trainer + transformers.js in one process: one onnxruntime-node',
  ortTrainer.env.versions.node ?? '',
);
