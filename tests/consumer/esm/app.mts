// An ESM consumer of the packed packages (see ../run-consumer-test.sh).
import { createRequire } from 'node:module';
import { createTunekit } from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import { tunekitExpress, tunekitFastify } from '@tunekit/server-adapter';
import { createTunekitClient } from '@tunekit/server-adapter/client';
import { trainerPlugin } from '@tunekit/trainer';
import express from 'express';
import Fastify from 'fastify';

const kit = await createTunekit({ plugins: [trainerPlugin(), registryPlugin()] });
const registry = kit.registry;
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
