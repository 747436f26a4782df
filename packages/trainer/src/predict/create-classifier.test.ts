import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { createModel } from '../models/create-model.js';
import { writeWordPieceTokenizer } from '../tokenizers/write-word-piece-tokenizer.js';
import { createTrainer } from '../train/create-trainer.js';
import { createClassifier } from './create-classifier.js';

let root: string;
const rows = [
  { text: 'free money now', label: 'positive' },
  { text: 'win a free prize', label: 'positive' },
  { text: 'the meeting is at noon', label: 'negative' },
  { text: 'see the report', label: 'negative' },
  { text: 'it is fine', label: 'neutral' },
  { text: 'ok then', label: 'neutral' },
];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tunekit-classifier-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('createClassifier', () => {
  it('RoBERTa + LoRA: trains, saves a SEQ_CLS adapter with its two-layer head, predicts one text or a batch', async () => {
    const modelDirectory = join(root, 'roberta');
    const vocabulary = await writeWordPieceTokenizer(
      modelDirectory,
      rows.map((row) => row.text),
      { vocabSize: 120 },
    );
    await createModel({
      architecture: 'roberta',
      directory: modelDirectory,
      vocab_size: vocabulary,
      pad_token_id: 0,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 40,
      initializer_range: 0.3,
      id2label: { 0: 'negative', 1: 'neutral', 2: 'positive' },
      language: 'English',
      seed: 2,
    });
    const trainer = await createTrainer({
      model: modelDirectory,
      lora: { r: 4, alpha: 8, targetModules: ['query', 'value'] },
    });
    await expect(trainer.generate('hello')).rejects.toMatchObject({ code: 'MODEL_TASK_MISMATCH' });
    const result = await trainer.train(rows, {
      maxSteps: 30,
      batchSize: 6,
      learningRate: 2e-2,
      validation: rows,
    });
    expect(result.lossHistory.at(-1)).toBeLessThan((result.lossHistory[0] as number) * 0.5);
    const adapterDirectory = join(root, 'roberta-adapter');
    await trainer.saveAdapter(adapterDirectory);
    await trainer.close();
    expect(JSON.parse(await readFile(join(adapterDirectory, 'adapter_config.json'), 'utf8'))).toMatchObject({
      task_type: 'SEQ_CLS',
      modules_to_save: ['classifier'],
    });
    const adapter = await loadPeftAdapter(adapterDirectory);
    expect([...(adapter.weights?.keys() ?? [])].filter((name) => !name.includes('lora_')).sort()).toEqual([
      'base_model.model.classifier.dense.bias',
      'base_model.model.classifier.dense.weight',
      'base_model.model.classifier.out_proj.bias',
      'base_model.model.classifier.out_proj.weight',
    ]);

    const classifier = await createClassifier({ model: modelDirectory, adapter: adapterDirectory });
    expect(classifier.labels).toEqual(['negative', 'neutral', 'positive']);
    const single = await classifier.predict('win a free prize');
    expect(single).toMatchObject({
      label: 'positive',
      label_id: 2,
      base_model: modelDirectory,
      language: 'English',
    });
    expect(single.top_k).toBeUndefined();
    expect(single.latency_ms).toBeGreaterThan(0);
    const batch = await classifier.predict(
      rows.map((row) => row.text),
      { topK: 3, batchSize: 4 },
    );
    expect(batch.map((prediction) => prediction.label)).toEqual(rows.map((row) => row.label));
    for (const prediction of batch) {
      expect(prediction.top_k?.map((entry) => entry.label).sort()).toEqual([
        'negative',
        'neutral',
        'positive',
      ]);
      expect(prediction.top_k?.reduce((sum, entry) => sum + entry.probability, 0)).toBeCloseTo(1, 6);
      expect(prediction.top_k?.[0]?.probability).toBe(prediction.probability);
    }
    // Without the adapter the base model answers differently (the head and LoRA matter).
    const base = await createClassifier({ model: modelDirectory });
    const baseBatch = await base.predict(rows.map((row) => row.text));
    expect(baseBatch.map((prediction) => prediction.probability)).not.toEqual(
      batch.map((prediction) => prediction.probability),
    );
    await expect(base.predict('x', { topK: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await base.close();
    await classifier.close();
  }, 60_000);

  it('refuses a causal language model', async () => {
    const directory = join(root, 'gpt2');
    await createModel({ architecture: 'gpt2', directory, vocab_size: 64, n_embd: 8, n_layer: 1, n_head: 2 });
    await expect(createClassifier({ model: directory })).rejects.toMatchObject({
      code: 'MODEL_TASK_MISMATCH',
    });
  });
});
