import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../models/create-model.js';
import { createClassifier } from '../predict/create-classifier.js';
import { writeWordPieceTokenizer } from '../tokenizers/write-word-piece-tokenizer.js';
import { createTrainer } from '../train/create-trainer.js';
import { exportModel } from './export-model.js';

let root: string;
let transformers: typeof import('@huggingface/transformers');
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tunekit-export-'));
  transformers = await import('@huggingface/transformers');
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  transformers.env.localModelPath = root;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('exportModel → @huggingface/transformers (local files only)', () => {
  it('GPT-2 + LoRA: greedy generation with the KV cache equals Tunekit', async () => {
    const modelDirectory = join(root, 'gpt2-base');
    await createModel({
      architecture: 'gpt2',
      directory: modelDirectory,
      vocab_size: 257,
      n_positions: 64,
      n_embd: 32,
      n_layer: 2,
      n_head: 2,
      bos_token_id: 256,
      eos_token_id: 256,
      // Large random weights, so greedy decoding is not one repeated token.
      initializer_range: 0.3,
      seed: 3,
    });
    const trainer = await createTrainer({
      model: modelDirectory,
      lora: { r: 4, alpha: 8, targetModules: ['c_attn', 'c_proj'] },
    });
    const text = 'the quick brown fox jumps over the lazy dog. ';
    await trainer.train([{ text: text.repeat(6) }], {
      maxSteps: 8,
      learningRate: 1e-2,
      batchSize: 1,
      maxLength: 48,
    });
    const adapterDirectory = join(root, 'gpt2-adapter');
    await trainer.saveAdapter(adapterDirectory);
    const exported = await exportModel(modelDirectory, {
      adapter: adapterDirectory,
      outputDirectory: join(root, 'gpt2-export'),
      tokenizer: trainer.tokenizer,
    });
    expect(exported.inputNames).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      'past_key_values.0.key',
      'past_key_values.0.value',
      'past_key_values.1.key',
      'past_key_values.1.value',
    ]);
    expect(exported.outputNames).toContain('present.1.value');

    const prompt = 'the quick';
    const ours: number[] = [];
    for await (const chunk of trainer.stream(prompt, { maxTokens: 12, temperature: 0 }))
      ours.push(chunk.tokenId);
    await trainer.close();

    const tokenizer = await transformers.AutoTokenizer.from_pretrained('gpt2-export', {
      local_files_only: true,
    });
    const promptIds = trainer.tokenizer.encode(prompt);
    expect(Array.from((tokenizer(prompt).input_ids as { data: BigInt64Array }).data, Number)).toEqual(
      promptIds,
    );
    const model = await transformers.AutoModelForCausalLM.from_pretrained('gpt2-export', {
      local_files_only: true,
      dtype: 'fp32',
      device: 'cpu',
    });
    const inputIds = new transformers.Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [
      1,
      promptIds.length,
    ]);
    const attentionMask = new transformers.Tensor('int64', new BigInt64Array(promptIds.length).fill(1n), [
      1,
      promptIds.length,
    ]);
    const generated = (await model.generate({
      input_ids: inputIds,
      attention_mask: attentionMask,
      max_new_tokens: 12,
      do_sample: false,
    } as never)) as { data: BigInt64Array };
    const theirs = Array.from(generated.data, Number).slice(promptIds.length);
    expect(ours.length).toBe(12);
    expect(new Set(ours).size).toBeGreaterThan(2);
    expect(theirs).toEqual(ours);
    await model.dispose();
  }, 60_000);

  it.each([
    ['llama', { num_key_value_heads: 1, tie_word_embeddings: false }],
    ['qwen2', { num_key_value_heads: 2, tie_word_embeddings: true }],
  ] as const)(
    '%s + LoRA: greedy generation with the KV cache equals Tunekit',
    async (architecture, extra) => {
      const modelDirectory = join(root, `${architecture}-base`);
      await createModel({
        architecture,
        directory: modelDirectory,
        vocab_size: 257,
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        max_position_embeddings: 64,
        bos_token_id: 256,
        eos_token_id: 256,
        initializer_range: 0.3,
        seed: 4,
        ...extra,
      });
      const trainer = await createTrainer({
        model: modelDirectory,
        lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'down_proj'] },
      });
      await trainer.train([{ text: 'pack my box with five dozen liquor jugs. '.repeat(5) }], {
        maxSteps: 6,
        learningRate: 1e-2,
        batchSize: 1,
        maxLength: 48,
      });
      const adapterDirectory = join(root, `${architecture}-adapter`);
      await trainer.saveAdapter(adapterDirectory);
      const name = `${architecture}-export`;
      const exported = await exportModel(modelDirectory, {
        adapter: adapterDirectory,
        outputDirectory: join(root, name),
        tokenizer: trainer.tokenizer,
      });
      expect(exported.inputNames).toContain('past_key_values.1.value');
      const prompt = 'pack my';
      const ours: number[] = [];
      for await (const chunk of trainer.stream(prompt, { maxTokens: 10, temperature: 0 }))
        ours.push(chunk.tokenId);
      await trainer.close();
      expect(ours.length).toBe(10);
      expect(new Set(ours).size).toBeGreaterThan(2);
      const promptIds = trainer.tokenizer.encode(prompt);
      const model = await transformers.AutoModelForCausalLM.from_pretrained(name, {
        local_files_only: true,
        dtype: 'fp32',
        device: 'cpu',
      });
      const generated = (await model.generate({
        input_ids: new transformers.Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [
          1,
          promptIds.length,
        ]),
        attention_mask: new transformers.Tensor('int64', new BigInt64Array(promptIds.length).fill(1n), [
          1,
          promptIds.length,
        ]),
        max_new_tokens: 10,
        do_sample: false,
      } as never)) as { data: BigInt64Array };
      expect(Array.from(generated.data, Number).slice(promptIds.length)).toEqual(ours);
      await model.dispose();
    },
    60_000,
  );

  it('BERT classifier + LoRA/modules_to_save: transformers.js scores equal createClassifier', async () => {
    const modelDirectory = join(root, 'bert-base');
    const rows = [
      ...['win free money now', 'cheap pills click here', 'claim your free prize today'].map((text) => ({
        text,
        label: 'spam',
      })),
      ...['meeting moved to friday', 'see the attached report', 'lunch at noon tomorrow'].map((text) => ({
        text,
        label: 'ham',
      })),
    ];
    const vocabulary = await writeWordPieceTokenizer(
      modelDirectory,
      rows.map((row) => row.text),
      { vocabSize: 200 },
    );
    await createModel({
      architecture: 'bert',
      directory: modelDirectory,
      vocab_size: vocabulary,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 64,
      max_position_embeddings: 32,
      id2label: { 0: 'ham', 1: 'spam' },
      initializer_range: 0.3,
      seed: 5,
    });
    const trainer = await createTrainer({
      model: modelDirectory,
      lora: { r: 4, alpha: 8, targetModules: ['query', 'value'] },
    });
    const result = await trainer.train(rows, { maxSteps: 10, learningRate: 1e-2, batchSize: 6 });
    expect(result.lossHistory.at(-1)).toBeLessThan(result.lossHistory[0] as number);
    const adapterDirectory = join(root, 'bert-adapter');
    await trainer.saveAdapter(adapterDirectory);
    await trainer.close();
    const exported = await exportModel(modelDirectory, {
      adapter: adapterDirectory,
      outputDirectory: join(root, 'bert-export'),
    });
    expect(exported).toMatchObject({
      task: 'text-classification',
      inputNames: ['input_ids', 'attention_mask'],
      outputNames: ['logits'],
    });
    expect(JSON.parse(await readFile(join(root, 'bert-export', 'config.json'), 'utf8')).id2label).toEqual({
      0: 'ham',
      1: 'spam',
    });

    const texts = ['free money prize', 'report for the meeting', 'click here today'];
    const classifier = await createClassifier({ model: modelDirectory, adapter: adapterDirectory });
    const ours = await classifier.predict(texts, { topK: 2 });
    await classifier.close();
    // Confident, text-dependent scores (a near-uniform model would make the comparison weak).
    expect(Math.max(...ours.map((prediction) => Math.abs(prediction.probability - 0.5)))).toBeGreaterThan(
      0.1,
    );
    expect(new Set(ours.map((prediction) => prediction.probability.toFixed(4))).size).toBe(texts.length);

    const pipe = await transformers.pipeline('text-classification', 'bert-export', {
      local_files_only: true,
      dtype: 'fp32',
      device: 'cpu',
    });
    for (const [index, text] of texts.entries()) {
      const theirs = (await pipe(text, { top_k: null })) as Array<{ label: string; score: number }>;
      const prediction = ours[index];
      expect(theirs[0]?.label).toBe(prediction?.label);
      for (const entry of prediction?.top_k ?? []) {
        const match = theirs.find((candidate) => candidate.label === entry.label);
        expect(Math.abs((match?.score ?? -1) - entry.probability)).toBeLessThan(1e-5);
      }
    }
    await pipe.dispose();
  }, 60_000);
});
