import { type ModelStage, ModelVersionSchema, RegisteredModelSchema, TunekitError } from '@tunekit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createHashingEmbedder } from './embedders/hashing-embedder.js';
import type { ModelRegistry, RegisterModelInput } from './model-registry.js';
import { createRegistryHarness, type HarnessDriver, type RegistryHarness } from './registry-test-harness.js';
import { ALLOWED_TRANSITIONS } from './stage-transitions.js';

async function caught(action: () => unknown): Promise<TunekitError> {
  try {
    await action();
  } catch (error) {
    if (TunekitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a TunekitError');
}

const stages: ModelStage[] = ['draft', 'staging', 'production', 'archived'];

function input(name: string, extra: Partial<RegisterModelInput> = {}): RegisterModelInput {
  return {
    name,
    artifactUri: `artifact://models/${name}`,
    baseModel: 'gpt2',
    task: 'text-generation',
    ...extra,
  };
}

/** Registers a version and moves it to `stage` by allowed steps. */
async function versionIn(registry: ModelRegistry, name: string, stage: ModelStage) {
  const version = await registry.register(input(name));
  if (stage === 'draft') return version;
  if (stage === 'archived') return registry.transition(version.id, 'archived');
  await registry.transition(version.id, 'staging');
  if (stage === 'staging') return registry.require(version.id);
  return registry.deploy(version.id);
}

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

  describe('register', () => {
    it('numbers versions per name from 1 in stage draft, with lineage and an audit entry', async () => {
      const first = await registry.register(input('tone', { language: 'ja', tags: ['polite', 'polite'] }));
      const second = await registry.register(
        input('tone', { parentVersionId: first.id, trainingJobId: 'job-7' }),
      );
      const other = await registry.register(input('sentiment'));
      expect([first.id, second.id, other.id]).toEqual(['tone@1', 'tone@2', 'sentiment@1']);
      expect(first).toMatchObject({ stage: 'draft', versionNumber: 1, language: ['ja'], tags: ['polite'] });
      expect(second.parentVersionId).toBe('tone@1');
      expect((await registry.getModel('tone'))?.latestVersionNumber).toBe(2);
      expect(harness.eventsOf('model:registered').map((event) => event.versionId)).toEqual([
        'tone@1',
        'tone@2',
        'sentiment@1',
      ]);
      const lineage = await registry.lineage('tone@2');
      expect(lineage.parent?.id).toBe('tone@1');
      expect(lineage.trainingJobId).toBe('job-7');
      expect((await registry.lineage('tone@1')).children.map((child) => child.id)).toEqual(['tone@2']);
      const audit = await harness.audit.query({ action: 'model.register', order: 'asc' });
      expect(audit.items.map((entry) => [entry.resourceId, entry.outcome])).toEqual([
        ['tone', 'success'],
        ['tone', 'success'],
        ['sentiment', 'success'],
      ]);
    });

    it('numbers concurrent registrations of one name without gaps or duplicates', async () => {
      const created = await Promise.all(Array.from({ length: 8 }, () => registry.register(input('busy'))));
      expect(created.map((version) => version.versionNumber).sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8,
      ]);
    });

    it('rejects invalid input with VALIDATION_FAILED naming the fields, and a missing parent with NOT_FOUND', async () => {
      const invalid = await caught(() =>
        registry.register({
          name: 'bad name!',
          artifactUri: '',
          metrics: { loss: Number.NaN },
        } as RegisterModelInput),
      );
      expect(invalid.code).toBe('VALIDATION_FAILED');
      expect(invalid.message).toContain('name');
      expect(invalid.message).toContain('artifactUri');
      expect(invalid.message).toContain('metrics.loss');
      const orphan = await caught(() => registry.register(input('orphan', { parentVersionId: 'nope@1' })));
      expect(orphan.code).toBe('NOT_FOUND');
      expect(
        (await harness.audit.query({ action: 'model.register', outcome: 'failure' })).items,
      ).toHaveLength(1);
    });
  });

  describe('stage transitions', () => {
    it('allows exactly the transitions of the table and rejects the rest with INVALID_TRANSITION', async () => {
      for (const from of stages) {
        for (const to of stages) {
          const version = await versionIn(registry, `m-${from}-${to}`, from);
          expect(version.stage).toBe(from);
          if (ALLOWED_TRANSITIONS[from].includes(to)) {
            const moved = await registry.transition(version.id, to);
            expect(moved.stage, `${from} -> ${to}`).toBe(to);
          } else {
            const error = await caught(() => registry.transition(version.id, to));
            expect(error.code, `${from} -> ${to}`).toBe('INVALID_TRANSITION');
            expect(error.status).toBe(409);
            expect(error.details).toMatchObject({ from, to });
            expect((await registry.require(version.id)).stage).toBe(from);
          }
        }
      }
      const unknownStage = await caught(() => registry.transition('m-draft-draft@1', 'live' as ModelStage));
      expect(unknownStage.code).toBe('VALIDATION_FAILED');
      const missing = await caught(() => registry.transition('ghost@1', 'staging'));
      expect(missing.code).toBe('NOT_FOUND');
    });

    it('deploy needs staging; promoting archives the previous production version in the same call', async () => {
      const v1 = await registry.register(input('tone'));
      expect((await caught(() => registry.deploy(v1.id))).code).toBe('INVALID_TRANSITION');
      await registry.transition(v1.id, 'staging');
      await registry.deploy(v1.id, { reason: 'first release' }, { actor: 'ada' });
      const v2 = await versionIn(registry, 'tone', 'staging');
      const promoted = await registry.transition(v2.id, 'production');
      expect(promoted.stage).toBe('production');
      expect(promoted.deployedAt).toBeDefined();
      expect((await registry.require(v1.id)).stage).toBe('archived');
      expect((await registry.get('tone@production'))?.id).toBe(v2.id);
      expect((await registry.getModel('tone'))?.productionHistory).toEqual([v1.id]);
      expect(harness.eventsOf('model:deployed').at(-1)).toEqual({
        versionId: v2.id,
        name: 'tone',
        previousVersionId: v1.id,
      });
      const history = await registry.history('tone');
      expect(history.map((entry) => [entry.versionId, entry.action, entry.from ?? null, entry.to])).toEqual([
        ['tone@1', 'register', null, 'draft'],
        ['tone@1', 'transition', 'draft', 'staging'],
        ['tone@1', 'deploy', 'staging', 'production'],
        ['tone@2', 'register', null, 'draft'],
        ['tone@2', 'transition', 'draft', 'staging'],
        ['tone@2', 'transition', 'staging', 'production'],
        ['tone@1', 'auto-archive', 'production', 'archived'],
      ]);
      expect(history[2]).toMatchObject({ actor: 'ada', reason: 'first release' });
      const deployAudit = await harness.audit.query({ action: 'model.deploy' });
      expect(deployAudit.items[0]).toMatchObject({ actor: 'ada', outcome: 'success' });
    });

    it('rollback returns to the previous production versions one by one, then ROLLBACK_UNAVAILABLE', async () => {
      expect((await caught(() => registry.rollback('tone'))).code).toBe('NOT_FOUND');
      const v1 = await versionIn(registry, 'tone', 'production');
      expect((await caught(() => registry.rollback('tone'))).code).toBe('ROLLBACK_UNAVAILABLE');
      const v2 = await versionIn(registry, 'tone', 'production');
      const v3 = await versionIn(registry, 'tone', 'production');
      const back = await registry.rollback('tone', { reason: 'v3 regressed' });
      expect(back.id).toBe(v2.id);
      expect((await registry.require(v3.id)).stage).toBe('archived');
      expect((await registry.require(v2.id)).stage).toBe('production');
      expect(harness.eventsOf('model:rolled-back')).toEqual([
        { name: 'tone', fromVersionId: v3.id, toVersionId: v2.id },
      ]);
      expect((await registry.rollback('tone')).id).toBe(v1.id);
      expect((await caught(() => registry.rollback('tone'))).code).toBe('ROLLBACK_UNAVAILABLE');
      const productions = (await registry.versions('tone')).filter(
        (version) => version.stage === 'production',
      );
      expect(productions.map((version) => version.id)).toEqual([v1.id]);
    });

    it('demoting production clears the production pointer', async () => {
      const v1 = await versionIn(registry, 'tone', 'production');
      await registry.transition(v1.id, 'staging');
      expect((await registry.getModel('tone'))?.productionVersionId).toBeUndefined();
      expect(await registry.get('tone@production')).toBeUndefined();
    });

    it('parallel promotions in one registry leave exactly one production version', async () => {
      const candidates = await Promise.all(
        Array.from({ length: 6 }, async (_, index) => {
          const version = await registry.register(input('race', { description: `candidate ${index}` }));
          return registry.transition(version.id, 'staging');
        }),
      );
      await versionIn(registry, 'race', 'production');
      const results = await Promise.allSettled(candidates.map((version) => registry.deploy(version.id)));
      expect(results.every((result) => result.status === 'fulfilled')).toBe(true);
      const all = await registry.versions('race');
      const productions = all.filter((version) => version.stage === 'production');
      expect(productions).toHaveLength(1);
      expect((await registry.getModel('race'))?.productionVersionId).toBe(productions[0]?.id);
      expect(all.filter((version) => version.stage === 'archived')).toHaveLength(all.length - 1);
    });

    it('parallel promotions and rollbacks from two registries (as two processes) leave one production version', async () => {
      const second = await harness.openSecond();
      const staged = [];
      for (let index = 0; index < 6; index += 1) staged.push(await versionIn(registry, 'shared', 'staging'));
      const base = await versionIn(registry, 'shared', 'production');
      expect(base.stage).toBe('production');
      const operations = staged.map((version, index) =>
        index % 2 === 0 ? registry.deploy(version.id) : second.deploy(version.id),
      );
      operations.push(second.rollback('shared').catch(() => undefined) as never);
      const results = await Promise.allSettled(operations);
      for (const result of results) {
        if (result.status === 'rejected') {
          expect(['CONFLICT', 'INVALID_TRANSITION', 'ROLLBACK_UNAVAILABLE']).toContain(
            (result.reason as TunekitError).code,
          );
        }
      }
      const all = await registry.versions('shared');
      const productions = all.filter((version) => version.stage === 'production');
      expect(productions).toHaveLength(1);
      expect((await second.getModel('shared'))?.productionVersionId).toBe(productions[0]?.id);
    });
  });

  describe('crash recovery and leases', () => {
    it('repairs a half-done promotion and waits for (or gives up on) another process holding the lease', async () => {
      const models = harness.storage.collection('registered-models', RegisteredModelSchema);
      const versions = harness.storage.collection('model-versions', ModelVersionSchema);
      const v1 = await versionIn(registry, 'crashy', 'production');
      const v2 = await versionIn(registry, 'crashy', 'staging');
      // A process claimed the pointer for v2 and died before changing any stage.
      await models.update('crashy', (model) => ({ ...model, productionVersionId: v2.id }));
      // Another left two versions in production.
      const v3 = await versionIn(registry, 'crashy', 'staging');
      await versions.update(v3.id, (version) => ({ ...version, stage: 'production' }));
      const v4 = await versionIn(registry, 'crashy', 'draft');
      await registry.transition(v4.id, 'staging');
      const after = await registry.versions('crashy');
      const productions = after.filter((version) => version.stage === 'production');
      expect(productions).toHaveLength(1);
      expect((await registry.getModel('crashy'))?.productionVersionId).toBe(productions[0]?.id);
      expect([v1.id, v3.id]).toContain(productions[0]?.id);

      // A lease held by a live process: stage changes wait, then give up with CONFLICT.
      const impatient = await harness.openSecond({ leaseWaitMs: 50 });
      await models.update('crashy', (model) => ({
        ...model,
        lease: { owner: 'other', expiresAt: Date.now() + 60_000 },
      }));
      const blocked = await caught(() => impatient.transition(v4.id, 'archived'));
      expect(blocked.code).toBe('CONFLICT');
      expect((await registry.require(v4.id)).stage).toBe('staging');
      // An expired lease (its holder died) is taken over.
      await models.update('crashy', (model) => ({
        ...model,
        lease: { owner: 'other', expiresAt: Date.now() - 1 },
      }));
      expect((await impatient.transition(v4.id, 'archived')).stage).toBe('archived');
      expect((await registry.getModel('crashy'))?.lease).toBeUndefined();
    });
  });

  describe('aliases and references', () => {
    it('resolves ids, aliases, stages and latest; rejects reserved aliases; deleting a version drops its aliases', async () => {
      const v1 = await versionIn(registry, 'tone', 'production');
      const v2 = await versionIn(registry, 'tone', 'staging');
      await registry.setAlias(v1.id, 'champion');
      await registry.setAlias(v2.id, 'challenger');
      expect((await registry.get('tone@champion'))?.id).toBe(v1.id);
      expect((await registry.get('tone@challenger'))?.id).toBe(v2.id);
      expect((await registry.get('tone@production'))?.id).toBe(v1.id);
      expect((await registry.get('tone@staging'))?.id).toBe(v2.id);
      expect((await registry.get('tone@latest'))?.id).toBe(v2.id);
      expect((await registry.get('tone'))?.id).toBe(v2.id);
      expect(await registry.get('tone@nothing')).toBeUndefined();
      expect((await caught(() => registry.setAlias(v1.id, 'production'))).code).toBe('VALIDATION_FAILED');
      expect((await caught(() => registry.setAlias(v1.id, 'v2'))).code).toBe('VALIDATION_FAILED');
      expect((await caught(() => registry.setAlias(v1.id, '9lives'))).code).toBe('VALIDATION_FAILED');
      await registry.setAlias(v2.id, 'champion');
      expect((await registry.get('tone@champion'))?.id).toBe(v2.id);
      expect(await registry.removeAlias('tone', 'challenger')).toBe(true);
      expect(await registry.removeAlias('tone', 'challenger')).toBe(false);
      expect((await caught(() => registry.delete(v1.id))).code).toBe('MODEL_IN_PRODUCTION');
      expect(await registry.delete(v2.id)).toBe(true);
      expect(await registry.delete(v2.id)).toBe(false);
      expect((await registry.getModel('tone'))?.aliases).toEqual({});
      expect(harness.eventsOf('model:aliased').map((event) => [event.alias, event.versionId])).toEqual([
        ['champion', v1.id],
        ['challenger', v2.id],
        ['champion', v2.id],
        ['challenger', null],
      ]);
    });
  });

  describe('model cards', () => {
    it('renders a Hugging Face README with front matter and sections into the artifact folder; edits regenerate it', async () => {
      const version = await registry.register(
        input('tone-ja', {
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
      const external = await registry.register(input('hub', { artifactUri: 'hf://gpt2' }));
      expect(external.cardUri).toBe('artifact://registry/models/hub/1/README.md');
      await harness.artifacts.put('artifact://files/model.onnx', new Uint8Array([1, 2, 3]));
      const file = await registry.register(input('onnx', { artifactUri: 'artifact://files/model.onnx' }));
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
        input('tone-ja', {
          language: 'ja',
          baseModel: 'qwen2',
          tags: ['tone'],
          description: 'Polite replies',
        }),
      );
      await registry.register(input('tone-en', { language: 'en', baseModel: 'gpt2', tags: ['tone'] }));
      await registry.register(
        input('sentiment-ja', {
          language: ['ja'],
          baseModel: 'bert',
          task: 'text-classification',
          tags: ['sentiment', 'reviews'],
          description: 'Product review polarity',
        }),
      );
      const staged = await registry.register(
        input('tone-ja', { language: 'ja', baseModel: 'qwen2', tags: ['tone'] }),
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

      for (let index = 0; index < 23; index += 1) await registry.register(input('bulk', { tags: ['bulk'] }));
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
          input(`topic${topic}-model`, {
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
      expect(metadata).toMatchObject({ embedder: 'hashing', dimensions: 256 });
      expect(metadata.labels).toHaveLength(15);
      const rebuildsBefore = harness.eventsOf('registry:index-rebuilt').length;

      // Another process registers and deletes while this index is on disk.
      const second = await harness.openSecond();
      const added = await second.register(
        input('newcomer', { description: 'Icelandic weather report generation', tags: ['weather'] }),
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
