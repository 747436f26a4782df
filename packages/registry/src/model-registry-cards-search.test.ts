import type { ModelStage } from '@tunekit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createHashingEmbedder } from './embedders/hashing-embedder.js';
import type { ModelRegistry } from './model-registry.js';
import {
  caught,
  createRegistryHarness,
  type HarnessDriver,
  modelInput,
  type RegistryHarness,
} from './registry-test-harness.js';

describe.each<HarnessDriver>(['memory', 'sqlite'])('model registry on %s storage', (driver) => {
  let harness: RegistryHarness;
  let registry: ModelRegistry;
  beforeEach(async () => {
    harness = await createRegistryHarness(driver);
    registry = harness.registry;
  });
  afterEach(async () => {
    await harness.close();
  });

  describe('model cards', () => {
    it('renders a Hugging Face README with front matter and sections into the artifact folder; edits regenerate it', async () => {
      const version = await registry.register(
        modelInput('tone-ja', {
          artifactUri: 'artifact://models/tone-ja/v1',
          language: ['ja', 'en'],
          license: 'apache-2.0',
          libraryName: 'peft',
          baseModelRelation: 'adapter',
          baseModel: 'Qwen/Qwen2-0.5B',
          task: 'text-generation',
          metrics: { perplexity: 12.5, accuracy: 0.91 },
          tags: ['tone', 'lora'],
          description: 'Rewrites Japanese customer replies in a polite tone.',
          datasetVersionId: 'ds-tone@3',
          trainingParameters: { learningRate: 0.0002, epochs: 3, lora: { r: 8, alpha: 32 } },
        }),
      );
      expect(version.cardUri).toBe('artifact://models/tone-ja/v1/README.md');
      const readme = new TextDecoder().decode(await harness.artifacts.get(version.cardUri as string));
      const [, frontMatter, body] = readme.split(/^---$/m);
      const matter = parseYaml(frontMatter as string);
      expect(matter).toEqual({
        language: ['ja', 'en'],
        license: 'apache-2.0',
        library_name: 'peft',
        tags: ['tone', 'lora'],
        datasets: ['ds-tone@3'],
        metrics: ['perplexity', 'accuracy'],
        base_model: 'Qwen/Qwen2-0.5B',
        base_model_relation: 'adapter',
        pipeline_tag: 'text-generation',
        'model-index': [
          {
            name: 'tone-ja',
            results: [
              {
                task: { type: 'text-generation', name: 'text-generation' },
                dataset: { type: 'ds-tone@3', name: 'ds-tone@3' },
                metrics: [
                  { type: 'perplexity', value: 12.5 },
                  { type: 'accuracy', value: 0.91 },
                ],
              },
            ],
          },
        ],
      });
      for (const heading of [
        '# tone-ja (version 1)',
        '## Model Details',
        '## Uses',
        '## Bias, Risks, and Limitations',
        '## Training Details',
        '#### Training Hyperparameters',
        '## Evaluation',
        '## How to Get Started with the Model',
      ]) {
        expect(body).toContain(`\n${heading}\n`);
      }
      expect(body).toContain('| learningRate | 0.0002 |');
      expect(body).toContain('| lora | {"r":8,"alpha":32} |');
      expect(body).toContain('| accuracy | 0.91 |');
      const json = JSON.parse(
        new TextDecoder().decode(await harness.artifacts.get('artifact://models/tone-ja/v1/model-card.json')),
      );
      expect(json).toMatchObject({
        id: 'tone-ja@1',
        baseModel: 'Qwen/Qwen2-0.5B',
        pipelineTag: 'text-generation',
      });
      expect(await registry.readme(version.id)).toBe(readme);

      await registry.update(version.id, {
        description: 'Polite Japanese rewriting.',
        tags: ['tone', 'keigo'],
      });
      const card = await registry.card(version.id);
      expect(card.description).toBe('Polite Japanese rewriting.');
      expect(card.tags).toEqual(['tone', 'keigo']);
      const updated = new TextDecoder().decode(await harness.artifacts.get(version.cardUri as string));
      expect(updated).toContain('Polite Japanese rewriting.');
      expect(parseYaml(updated.split(/^---$/m)[1] as string).tags).toEqual(['tone', 'keigo']);
      expect((await caught(() => registry.update(version.id, { tags: [''] }))).code).toBe(
        'VALIDATION_FAILED',
      );
      expect((await caught(() => registry.update(version.id, { name: 'x' } as never))).code).toBe(
        'VALIDATION_FAILED',
      );
    });

    it('puts cards of external or file artifacts in a registry folder or next to the file', async () => {
      const external = await registry.register(modelInput('hub', { artifactUri: 'hf://gpt2' }));
      expect(external.cardUri).toBe('artifact://registry/models/hub/1/README.md');
      await harness.artifacts.put('artifact://files/model.onnx', new Uint8Array([1, 2, 3]));
      const file = await registry.register(
        modelInput('onnx', { artifactUri: 'artifact://files/model.onnx' }),
      );
      expect(file.cardUri).toBe('artifact://files/README.md');
      expect(await harness.artifacts.exists('artifact://registry/models/hub/1/README.md')).toBe(true);
      const minimal = await registry.readme(external.id);
      expect(minimal).toContain('No metrics were recorded.');
      expect(parseYaml(minimal.split(/^---$/m)[1] as string)).toEqual({
        base_model: 'gpt2',
        pipeline_tag: 'text-generation',
      });
      await registry.delete(external.id);
      expect(await harness.artifacts.exists('artifact://registry/models/hub/1/README.md')).toBe(false);
    });
  });

  describe('search', () => {
    it('combines exact filters with a text query, newest first, with cursor pagination', async () => {
      await registry.register(
        modelInput('tone-ja', {
          language: 'ja',
          baseModel: 'qwen2',
          tags: ['tone'],
          description: 'Polite replies',
        }),
      );
      await registry.register(modelInput('tone-en', { language: 'en', baseModel: 'gpt2', tags: ['tone'] }));
      await registry.register(
        modelInput('sentiment-ja', {
          language: ['ja'],
          baseModel: 'bert',
          task: 'text-classification',
          tags: ['sentiment', 'reviews'],
          description: 'Product review polarity',
        }),
      );
      const staged = await registry.register(
        modelInput('tone-ja', { language: 'ja', baseModel: 'qwen2', tags: ['tone'] }),
      );
      await registry.transition(staged.id, 'staging');
      const ids = async (query: Parameters<ModelRegistry['search']>[0]) =>
        (await registry.search(query)).items.map((version) => version.id);
      expect(await ids({ language: 'ja' })).toEqual(['tone-ja@2', 'sentiment-ja@1', 'tone-ja@1']);
      expect(await ids({ language: 'JA', baseModel: 'qwen2' })).toEqual(['tone-ja@2', 'tone-ja@1']);
      expect(await ids({ task: 'text-classification' })).toEqual(['sentiment-ja@1']);
      expect(await ids({ tags: ['tone'], stage: 'staging' })).toEqual(['tone-ja@2']);
      expect(await ids({ tags: ['sentiment', 'reviews'] })).toEqual(['sentiment-ja@1']);
      expect(await ids({ tags: ['sentiment', 'tone'] })).toEqual([]);
      expect(await ids({ stage: ['draft', 'staging'], text: 'POLITE' })).toEqual(['tone-ja@1']);
      expect(await ids({ text: 'review ja' })).toEqual(['sentiment-ja@1']);
      expect(await ids({ text: 'tone', language: 'en' })).toEqual(['tone-en@1']);
      expect((await caught(() => registry.search({ stage: 'live' as ModelStage }))).code).toBe(
        'VALIDATION_FAILED',
      );

      for (let index = 0; index < 23; index += 1)
        await registry.register(modelInput('bulk', { tags: ['bulk'] }));
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await registry.search({ tags: ['bulk'], limit: 10, cursor });
        seen.push(...page.items.map((version) => version.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== undefined);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(23);
    });
  });

  describe('recommend', () => {
    const topics = [
      'Japanese polite tone rewriting of customer support replies',
      'English sentiment classification of product reviews',
      'German legal contract summarization',
      'Python code completion assistant',
      'Medical question answering over clinical notes',
    ];

    async function seedCatalogue(count: number) {
      for (let index = 0; index < count; index += 1) {
        const topic = index % topics.length;
        const version = await registry.register(
          modelInput(`topic${topic}-model`, {
            description: `${topics[topic]} variant ${index}`,
            tags: [`topic${topic}`],
            language: topic === 0 ? 'ja' : 'en',
          }),
        );
        if (index % 3 === 0) await registry.transition(version.id, 'staging');
      }
    }

    it('ranks by text similarity, excludes the query model, and never returns fewer than k matches while more exist', async () => {
      await seedCatalogue(60);
      const byText = await registry.recommend({ text: 'polite Japanese customer support tone', k: 5 });
      expect(byText).toHaveLength(5);
      expect(byText.every((hit) => hit.model.name === 'topic0-model')).toBe(true);
      expect(byText[0]?.score).toBeGreaterThan(0.3);
      for (let index = 1; index < byText.length; index += 1) {
        expect(byText[index - 1]?.score).toBeGreaterThanOrEqual(byText[index]?.score as number);
      }
      const similar = await registry.recommend({ modelId: 'topic1-model@1', k: 12 });
      expect(similar.map((hit) => hit.model.id)).not.toContain('topic1-model@1');
      expect(similar).toHaveLength(12);
      expect(similar.slice(0, 11).every((hit) => hit.model.name === 'topic1-model')).toBe(true);

      // 20 staging versions exist, spread over all topics: a topic-0 query must still return 15 staging ones.
      const staging = await registry.recommend({
        text: topics[0] as string,
        k: 15,
        filters: { stage: 'staging' },
      });
      expect(staging).toHaveLength(15);
      expect(staging.every((hit) => hit.model.stage === 'staging')).toBe(true);
      const all = await registry.recommend({
        text: topics[0] as string,
        k: 50,
        filters: { stage: 'staging' },
      });
      expect(all).toHaveLength(20);
      const english = await registry.recommend({
        text: 'reviews',
        k: 100,
        filters: { language: 'en', tags: ['topic2'] },
      });
      expect(english).toHaveLength(12);

      const [vector] = await createHashingEmbedder().embed(['python code completion']);
      const byEmbedding = await registry.recommend({ embedding: Array.from(vector as Float32Array), k: 4 });
      const byQueryText = await registry.recommend({ text: 'python code completion', k: 4 });
      expect(byEmbedding.map((hit) => hit.model.id)).toEqual(byQueryText.map((hit) => hit.model.id));
      expect(byEmbedding.every((hit) => hit.model.name === 'topic3-model')).toBe(true);
      const wrongSize = await caught(() => registry.recommend({ embedding: [1, 2, 3] }));
      expect(wrongSize.code).toBe('VALIDATION_FAILED');
      const ambiguous = await caught(() => registry.recommend({ text: 'x', modelId: 'topic0-model@1' }));
      expect(ambiguous.code).toBe('VALIDATION_FAILED');
      const stats = await registry.indexStats();
      expect(stats).toMatchObject({ embedder: 'hashing', dimensions: 256, items: 60 });
    });

    it('follows edits, stage changes and deletions incrementally', async () => {
      await seedCatalogue(10);
      const target = 'topic4-model@1';
      await registry.update(target, { description: 'Swahili poetry generation', tags: ['poetry'] });
      expect((await registry.recommend({ text: 'swahili poetry', k: 1 }))[0]?.model.id).toBe(target);
      await registry.transition(target, 'archived');
      expect(
        await registry.recommend({ text: 'swahili poetry', k: 3, filters: { stage: 'archived' } }),
      ).toHaveLength(1);
      await registry.delete(target);
      const after = await registry.recommend({ text: 'swahili poetry', k: 20 });
      expect(after.map((hit) => hit.model.id)).not.toContain(target);
      expect(after).toHaveLength(9);
    });

    it('persists the index, reloads it without rebuilding, and reconciles versions changed elsewhere', async () => {
      await seedCatalogue(15);
      await registry.recommend({ text: 'code completion', k: 3 });
      await registry.flush();
      expect(await harness.artifacts.exists('artifact://registry/index/hnsw.bin')).toBe(true);
      const metadata = JSON.parse(
        new TextDecoder().decode(await harness.artifacts.get('artifact://registry/index/index.json')),
      );
      expect(metadata).toMatchObject({ format: 2, embedder: 'hashing', dimensions: 256, labelCount: 15 });
      expect(await harness.artifacts.exists('artifact://registry/index/labels.bin')).toBe(true);
      const rebuildsBefore = harness.eventsOf('registry:index-rebuilt').length;

      // Another process registers and deletes while this index is on disk.
      const second = await harness.openSecond();
      const added = await second.register(
        modelInput('newcomer', { description: 'Icelandic weather report generation', tags: ['weather'] }),
      );
      await second.delete('topic2-model@1');
      await second.flush();
      const third = await harness.openSecond();
      const hits = await third.recommend({ text: 'icelandic weather report', k: 20 });
      expect(hits[0]?.model.id).toBe(added.id);
      expect(hits.map((hit) => hit.model.id)).not.toContain('topic2-model@1');
      expect(hits).toHaveLength(15);
      expect(harness.eventsOf('registry:index-rebuilt').length).toBe(rebuildsBefore);
    });

    it('rebuilds when the index files are missing or corrupt, or the embedder changed', async () => {
      await seedCatalogue(12);
      await registry.recommend({ text: 'legal', k: 1 });
      await registry.flush();
      const reasons = () => harness.eventsOf('registry:index-rebuilt').map((event) => event.reason);
      expect(reasons()).toEqual(['missing']);

      await harness.artifacts.put('artifact://registry/index/hnsw.bin', new Uint8Array([1, 2, 3, 4]));
      const afterCorruptBinary = await harness.openSecond();
      expect(await afterCorruptBinary.recommend({ text: 'legal contract', k: 4 })).toHaveLength(4);
      await afterCorruptBinary.flush();

      await harness.artifacts.put('artifact://registry/index/index.json', '{not json');
      const afterCorruptMetadata = await harness.openSecond();
      expect((await afterCorruptMetadata.recommend({ text: 'legal contract', k: 4 }))[0]?.model.name).toBe(
        'topic2-model',
      );
      await afterCorruptMetadata.flush();

      await harness.artifacts.delete('artifact://registry/index/hnsw.bin');
      const afterDeletion = await harness.openSecond();
      expect(await afterDeletion.recommend({ text: 'legal contract', k: 12 })).toHaveLength(12);
      await afterDeletion.flush();

      const wider = await harness.openSecond({ embedder: createHashingEmbedder({ dimensions: 512 }) });
      expect((await wider.indexStats()).dimensions).toBe(512);
      await wider.flush();
      expect(reasons()).toEqual(['missing', 'corrupt', 'corrupt', 'missing', 'embedder-changed']);
      const rebuilt = JSON.parse(
        new TextDecoder().decode(await harness.artifacts.get('artifact://registry/index/index.json')),
      );
      expect(rebuilt.dimensions).toBe(512);
    });
  });
});
