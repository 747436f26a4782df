import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { createGraphSession } from '../backends/create-graph-session.js';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import { createModel } from '../models/create-model.js';
import { loadModel } from '../models/load-model.js';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createTrainer } from '../train/create-trainer.js';
import { modelPredictor } from './model-predictor.js';
import { openModel } from './open-model.js';

let directory: string;
let base: string;
let adapter: string;
const rows = Array.from({ length: 8 }, (_, index) => ({ text: `the cat sat on mat number ${index}. ` }));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-open-model-'));
  base = await createTinyGpt2(join(directory, 'base'));
  // A few LoRA steps, so the adapter changes the model (B is no longer zero).
  const trainer = await createTrainer({ model: base, lora: { r: 4, alpha: 8 }, threads: 1 });
  await trainer.train(rows, { maxSteps: 3, batchSize: 4, maxLength: 32, learningRate: 5e-2 });
  adapter = await trainer.saveAdapter(join(directory, 'adapter'));
  await trainer.close();
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** The training graph's loss (mean cross-entropy of the next token) on one row of ids. */
async function trainingGraphLoss(ids: number[]): Promise<number> {
  const model = await loadModel(base);
  const lora = await loadPeftAdapter(adapter);
  const graph = model.architecture.buildTrainingGraph({
    config: model.config,
    weights: model.weights,
    lora,
    trainable: 'lora',
    dropout: false,
    gradients: false,
  });
  const ort = await loadOnnxRuntime();
  // The graph references the checkpoint's weights in place (`externalFolder`).
  const { session } = await createGraphSession(graph);
  const row = (values: number[]) =>
    new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
  const feeds: Record<string, Tensor> = {
    input_ids: row(ids),
    attention_mask: row(ids.map(() => 1)),
    labels: row(ids),
  };
  for (const parameter of graph.parameters) {
    feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
  }
  const output = await session.run(feeds, [graph.lossName]);
  await session.release();
  return (output[graph.lossName] as Tensor).data[0] as number;
}

describe('openModel', () => {
  it('gives per-token log-probabilities whose negated mean equals the training graph loss within 1e-5', async () => {
    const model = await openModel(base, { adapter, threads: 1 });
    try {
      expect(model.task).toBe('text-generation');
      const ids = model.tokenizer.encode('the cat sat on mat number 3. the dog');
      const scores = await model.logProbabilities(ids);
      expect(scores).toHaveLength(ids.length - 1);
      expect(scores.every((score) => score < 0 && Number.isFinite(score))).toBe(true);
      const meanNegative = -scores.reduce((sum, score) => sum + score, 0) / scores.length;
      const loss = await trainingGraphLoss(ids);
      expect(Math.abs(meanNegative - loss)).toBeLessThan(1e-5);

      const { perplexity, negativeLogLikelihood, tokens } = await model.perplexity([
        'the cat sat on mat number 3.',
      ]);
      expect(tokens).toBe(model.tokenizer.encode('the cat sat on mat number 3.').length - 1);
      expect(perplexity).toBeCloseTo(Math.exp(negativeLogLikelihood), 10);
      const generated = await model.generate('the cat', { maxTokens: 5, temperature: 0 });
      expect(generated.tokensGenerated).toBeGreaterThan(0);
      await expect(model.predict('x')).rejects.toMatchObject({ code: 'MODEL_TASK_MISMATCH' });
    } finally {
      await model.close();
    }
  });

  it('the adapter changes the scores (the base alone differs), and the trained text is more likely', async () => {
    const tuned = await openModel(base, { adapter, threads: 1 });
    const plain = await openModel(base, { threads: 1 });
    try {
      const text = ['the cat sat on mat number 5.'];
      expect((await tuned.perplexity(text)).perplexity).toBeLessThan(
        (await plain.perplexity(text)).perplexity,
      );
    } finally {
      await tuned.close();
      await plain.close();
    }
  });

  it('is a Predictor for the evaluators with real per-token log-probabilities of the reference', async () => {
    const model = await openModel(base, { adapter, threads: 1 });
    try {
      const predictor = modelPredictor(model, { id: 'tiny', skipGeneration: true });
      const prediction = await predictor.predict({ input: 'the cat sat', reference: ' on mat', row: {} });
      const reference = model.tokenizer.encode(' on mat');
      expect(prediction.tokenLogProbabilities).toHaveLength(reference.length);
      const all = await model.logProbabilities([...model.tokenizer.encode('the cat sat'), ...reference]);
      expect(prediction.tokenLogProbabilities).toEqual(all.slice(-reference.length));
    } finally {
      await model.close();
    }
  });

  it('validates its options, and opens a classifier that predicts but does not generate', async () => {
    await expect(openModel(base, { devise: 'cpu' } as never)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('devise'),
    });
    const bert = join(directory, 'bert');
    await createModel({
      architecture: 'bert',
      directory: bert,
      vocab_size: 300,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 32,
      id2label: { 0: 'ham', 1: 'spam' },
    });
    const byteLevel = join(directory, 'base');
    const classifier = await openModel(bert, { tokenizer: byteLevel, threads: 1 });
    try {
      expect(classifier.task).toBe('text-classification');
      expect(classifier.labels).toEqual(['ham', 'spam']);
      expect(['ham', 'spam']).toContain((await classifier.predict('win money')).label);
      await expect(classifier.generate('x')).rejects.toMatchObject({ code: 'MODEL_TASK_MISMATCH' });
    } finally {
      await classifier.close();
    }
  });
});
