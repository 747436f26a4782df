import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createTrainer } from '../train/create-trainer.js';
import { loadPeftAdapter } from './peft-adapter.js';

let directory: string;
let model: string;
const rows = Array.from({ length: 16 }, (_, index) => ({ text: `a stitch in time saves nine, ${index}. ` }));
const evaluationRows = rows.slice(0, 4);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-save-trained-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('saving what was trained', () => {
  it('a saved PEFT adapter and the merged model reproduce the trained base + adapter', async () => {
    const trainer = await createTrainer({
      model,
      lora: { r: 4, alpha: 8, targetModules: ['c_attn', 'c_fc'] },
      threads: 1,
    });
    await trainer.train(rows, { maxSteps: 10, batchSize: 4, maxLength: 32, learningRate: 2e-2 });
    const trained = await trainer.evaluate(evaluationRows, { maxLength: 32 });
    const text = await trainer.generate('a stitch', { temperature: 0, maxTokens: 12 });
    await trainer.saveAdapter(join(directory, 'adapter'));
    await trainer.saveMerged(join(directory, 'merged'));
    await trainer.close();
    expect((await readdir(join(directory, 'merged'))).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);

    const reloaded = await createTrainer({
      model,
      lora: await loadPeftAdapter(join(directory, 'adapter')),
      threads: 1,
    });
    expect((await reloaded.evaluate(evaluationRows, { maxLength: 32 })).loss).toBeCloseTo(trained.loss, 5);
    expect(await reloaded.generate('a stitch', { temperature: 0, maxTokens: 12 })).toEqual(text);
    await reloaded.close();

    const merged = await createTrainer({ model: join(directory, 'merged'), threads: 1 });
    expect((await merged.evaluate(evaluationRows, { maxLength: 32 })).loss).toBeCloseTo(trained.loss, 4);
    expect(await merged.generate('a stitch', { temperature: 0, maxTokens: 12 })).toEqual(text);
    await merged.close();
  });

  it('full fine-tuning saves a model folder that loads back with the trained weights', async () => {
    const trainer = await createTrainer({ model, threads: 1 });
    await trainer.train(rows, { maxSteps: 6, batchSize: 4, maxLength: 32, learningRate: 5e-3 });
    const trained = await trainer.evaluate(evaluationRows, { maxLength: 32 });
    await trainer.saveMerged(join(directory, 'full'));
    await expect(trainer.saveAdapter(join(directory, 'nope'))).rejects.toThrow(/full model/);
    await trainer.close();
    const reloaded = await createTrainer({ model: join(directory, 'full'), threads: 1 });
    expect((await reloaded.evaluate(evaluationRows, { maxLength: 32 })).loss).toBeCloseTo(trained.loss, 5);
    await reloaded.close();
  });
});
