// The transformers.js embedder on a tiny local model built here (no download): a BERT-typed config, a
// word-level tokenizer.json and an ONNX graph whose last_hidden_state is an embedding lookup, so the
// expected mean-pooled, normalized vectors can be computed by hand.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventBus, createFileArtifactStore, createStorage } from '@tunekit/core';
import { createModelRegistry, createTransformersEmbedder } from '@tunekit/registry';
import { Graph, saveSerializedModel, serializeModel } from '@tunekit/trainer/onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const words = [
  '[UNK]',
  '[PAD]',
  'polite',
  'reply',
  'rude',
  'legal',
  'contract',
  'summary',
  'japanese',
  'tone',
];
const hidden = 8;
// Row i of the embedding table: a deterministic pattern per word.
const table = Float32Array.from({ length: words.length * hidden }, (_, index) =>
  Math.sin(index * 1.7 + Math.floor(index / hidden)),
);

let directory: string;
let modelPath: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-transformers-embedder-'));
  modelPath = join(directory, 'tiny-embedder');
  await mkdir(join(modelPath, 'onnx'), { recursive: true });
  await writeFile(
    join(modelPath, 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      architectures: ['BertModel'],
      hidden_size: hidden,
      vocab_size: words.length,
    }),
  );
  await writeFile(
    join(modelPath, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      unk_token: '[UNK]',
      pad_token: '[PAD]',
      model_max_length: 64,
    }),
  );
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  await writeFile(
    join(modelPath, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [special(0, '[UNK]'), special(1, '[PAD]')],
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: null,
      decoder: null,
      model: {
        type: 'WordLevel',
        vocab: Object.fromEntries(words.map((word, id) => [word, id])),
        unk_token: '[UNK]',
      },
    }),
  );
  const graph = new Graph({ name: 'tiny-embedder' });
  const inputIds = graph.input('input_ids', 'int64', ['batch', 'sequence']);
  graph.input('attention_mask', 'int64', ['batch', 'sequence']);
  const embeddings = graph.initializer('embeddings', 'float32', [words.length, hidden], table);
  graph.output(graph.gather(embeddings, inputIds, 0), 'last_hidden_state');
  await saveSerializedModel(serializeModel(graph), join(modelPath, 'onnx'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function expectedVector(text: string): number[] {
  const ids = text
    .toLowerCase()
    .split(/\s+/)
    .map((word) => Math.max(0, words.indexOf(word)));
  const mean = Array.from({ length: hidden }, (_, dimension) => {
    let sum = 0;
    for (const id of ids) sum += table[id * hidden + dimension] as number;
    return sum / ids.length;
  });
  const norm = Math.hypot(...mean);
  return mean.map((value) => value / norm);
}

describe('createTransformersEmbedder on a local model folder', () => {
  it('embeds with mean pooling and normalization, offline', async () => {
    const embedder = await createTransformersEmbedder({ modelPath, dtype: 'fp32' });
    expect(embedder.name).toBe('transformers:tiny-embedder');
    expect(embedder.dimensions).toBe(hidden);
    const [first, second] = await embedder.embed(['Polite reply', 'legal contract summary']);
    expect(Array.from(first as Float32Array)).toEqual(
      expectedVector('polite reply').map((value) => expect.closeTo(value, 5)),
    );
    expect(Array.from(second as Float32Array)).toEqual(
      expectedVector('legal contract summary').map((value) => expect.closeTo(value, 5)),
    );
    expect(await embedder.embed([])).toEqual([]);
  });

  it('serves as the registry embedder', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const artifacts = createFileArtifactStore({ directory: join(directory, 'artifacts') });
    const embedder = await createTransformersEmbedder({ modelPath, dtype: 'fp32' });
    const registry = createModelRegistry({ storage, artifacts, events: createEventBus(), embedder });
    await registry.register({ name: 'tone', artifactUri: 'hf://tone', description: 'japanese polite tone' });
    await registry.register({
      name: 'contracts',
      artifactUri: 'hf://contracts',
      description: 'legal contract summary',
    });
    const hits = await registry.recommend({ text: 'contract summary', k: 2 });
    expect(hits[0]?.model.name).toBe('contracts');
    expect(await registry.indexStats()).toMatchObject({
      embedder: 'transformers:tiny-embedder',
      dimensions: hidden,
    });
    await registry.flush();
    await storage.close();
  });
});
