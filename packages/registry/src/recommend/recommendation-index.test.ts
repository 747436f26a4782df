import { createHash } from 'node:crypto';
import {
  type ArtifactStore,
  createMemoryArtifactStore,
  type ModelVersion,
  ModelVersionSchema,
} from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createHashingEmbedder } from '../embedders/hashing-embedder.js';
import { createHnswVectorIndex } from './hnsw-vector-index.js';
import { createRecommendationIndex } from './recommendation-index.js';

const now = '2026-12-07T00:00:00.000Z';
const version = (name: string, description: string): ModelVersion =>
  ModelVersionSchema.parse({
    id: `${name}@1`,
    name,
    versionNumber: 1,
    stage: 'draft',
    artifactUri: `artifact://models/${name}`,
    description,
    createdAt: now,
    updatedAt: now,
    stageChangedAt: now,
  });

const topics = ['legal contracts', 'medical notes', 'code completion', 'poetry', 'weather reports'];
const catalogue = (count: number) =>
  Array.from({ length: count }, (_, position) =>
    version(`model-${position}`, `${topics[position % topics.length]} number ${position}`),
  );

function open(artifacts: ArtifactStore, versions: ModelVersion[], snapshot?: { changeFraction?: number }) {
  return createRecommendationIndex({
    artifacts,
    resolveEmbedder: () => createHashingEmbedder({ dimensions: 64 }),
    loadVersions: async () => [...versions],
    ...(snapshot === undefined ? {} : { snapshot }),
  });
}

describe('createRecommendationIndex persistence', () => {
  it('saves only when changes reach the snapshot fraction (or on flush), and reconciles unsaved ones', async () => {
    const artifacts = createMemoryArtifactStore();
    const versions = catalogue(200);
    const index = open(artifacts, versions, { changeFraction: 0.05 });
    expect(await index.ensureLoaded()).toEqual({ kind: 'rebuilt', reason: 'missing' });
    await index.flush();
    const savedAt = async () =>
      JSON.parse(new TextDecoder().decode(await artifacts.get('artifact://registry/index/index.json')))
        .savedAt;
    const first = await savedAt();

    // 5 changes at 200 items: under 5% (10), nothing written yet.
    const added = Array.from({ length: 5 }, (_, position) => version(`extra-${position}`, 'icelandic sagas'));
    for (const item of added) {
      versions.push(item);
      await index.upsert(item);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await savedAt()).toBe(first);

    // Another process loads the old snapshot and still finds the unsaved versions (re-embedded).
    const reader = open(artifacts, versions);
    expect(await reader.ensureLoaded()).toEqual({ kind: 'loaded', added: 5, removed: 0, reembedded: 0 });
    const hits = await reader.search(await reader.embed('icelandic sagas'), 5);
    expect(hits.map((hit) => hit.version.id).sort()).toEqual(added.map((item) => item.id).sort());

    // Enough changes trigger a save on their own; flush saves the rest.
    for (let position = 0; position < 10; position += 1) await index.remove(`model-${position}@1`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await savedAt();
    expect(second).not.toBe(first);
    await index.remove('model-10@1');
    await index.flush();
    const metadata = JSON.parse(
      new TextDecoder().decode(await artifacts.get('artifact://registry/index/index.json')),
    );
    expect(metadata).toMatchObject({ format: 2, labelCount: 205 });
    await index.unload();
  });

  it('reads format-1 metadata (labels and fingerprints in the JSON) without rebuilding', async () => {
    const artifacts = createMemoryArtifactStore();
    const versions = catalogue(30);
    const embedder = createHashingEmbedder({ dimensions: 64 });
    const { fnv1a32 } = await import('@tunekit/core/statistics');
    const { embeddingText } = await import('../model-filters.js');
    const vectors = await embedder.embed(versions.map(embeddingText));
    const vectorIndex = await createHnswVectorIndex(64);
    versions.forEach((item, position) => {
      vectorIndex.upsert(item.id, vectors[position] as Float32Array);
    });
    const serialized = await vectorIndex.serialize();
    await artifacts.put('artifact://registry/index/hnsw.bin', serialized.bytes);
    await artifacts.put(
      'artifact://registry/index/index.json',
      JSON.stringify({
        format: 1,
        embedder: embedder.name,
        dimensions: 64,
        sha256: createHash('sha256').update(serialized.bytes).digest('hex'),
        labels: serialized.labels,
        fingerprints: Object.fromEntries(versions.map((item) => [item.id, fnv1a32(embeddingText(item))])),
        savedAt: now,
      }),
    );
    const index = open(artifacts, versions);
    expect(await index.ensureLoaded()).toEqual({ kind: 'loaded', added: 0, removed: 0, reembedded: 0 });
    expect((await index.search(await index.embed('poetry number 3'), 1))[0]?.version.id).toBe('model-3@1');
  });

  it('rebuilds when labels.bin is missing or does not match its checksum', async () => {
    const artifacts = createMemoryArtifactStore();
    const versions = catalogue(20);
    const index = open(artifacts, versions);
    await index.ensureLoaded();
    await index.flush();
    await artifacts.put('artifact://registry/index/labels.bin', new Uint8Array([1, 2, 3]));
    expect(await open(artifacts, versions).ensureLoaded()).toEqual({ kind: 'rebuilt', reason: 'corrupt' });
    await artifacts.delete('artifact://registry/index/labels.bin');
    expect(await open(artifacts, versions).ensureLoaded()).toEqual({ kind: 'rebuilt', reason: 'corrupt' });
  });
});

describe('createRecommendationIndex background rebuild', () => {
  it('keeps answering queries while a worker rebuilds, and replays changes made meanwhile', async () => {
    const dimensions = 96;
    const cards = 4000;
    // A table embedder: card `n` (description `#n`) has a fixed random vector.
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2147483648 - 1;
    };
    const table = new Map<number, Float32Array>();
    const vectorOf = (card: number) => {
      let vector = table.get(card);
      if (vector === undefined) {
        vector = Float32Array.from({ length: dimensions }, random);
        table.set(card, vector);
      }
      return vector;
    };
    const embedder = {
      name: 'test-table',
      dimensions,
      embed: async (texts: string[]) =>
        texts.map((text) => vectorOf(Number(text.slice(text.lastIndexOf('#') + 1)))),
    };
    const versions = Array.from({ length: cards }, (_, card) => version(`card-${card}`, `#${card}`));
    const rebuilt: string[] = [];
    const index = createRecommendationIndex({
      artifacts: createMemoryArtifactStore(),
      resolveEmbedder: () => embedder,
      loadVersions: async () => [...versions],
      // efConstruction 400 makes the build take seconds of a core: long enough to query during it.
      hnsw: { efConstruction: 400 },
      workerBuildThreshold: 1000,
      events: { emit: (_name: string, payload: { reason: string }) => rebuilt.push(payload.reason) } as never,
    });
    expect(await index.ensureLoaded()).toEqual({ kind: 'rebuilt', reason: 'missing' });
    await index.flush();

    const rebuildStarted = performance.now();
    let done = false;
    const rebuilding = index.rebuild().then(() => {
      done = true;
    });
    // Changes after the rebuild read storage: one new card, one removed card; both visible at once.
    const added = version('card-new', `#${cards}`);
    await index.upsert(added);
    versions.push(added);
    await index.remove('card-7@1');
    versions.splice(
      versions.findIndex((item) => item.id === 'card-7@1'),
      1,
    );
    expect((await index.search(vectorOf(cards), 1))[0]?.version.id).toBe('card-new@1');

    // Queries back to back, yielding to the event loop between them: the gap between two answers
    // bounds how long a query arriving in between waits.
    const gaps: number[] = [];
    let previous = performance.now();
    let query = 0;
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      const hits = await index.search(vectorOf(query % cards), 3);
      const answered = performance.now();
      gaps.push(answered - previous);
      previous = answered;
      expect(hits.map((hit) => hit.version.id)).not.toContain('card-7@1');
      query += 1;
    }
    await rebuilding;
    const rebuildMs = performance.now() - rebuildStarted;
    // The old rebuild added every point on this thread: one query waited for all of them.
    expect(rebuildMs).toBeGreaterThan(1000);
    expect(gaps.length).toBeGreaterThan(20);
    expect(Math.max(...gaps)).toBeLessThan(Math.min(500, rebuildMs / 2));
    expect(rebuilt).toEqual(['missing', 'requested']);

    // After the swap: the replayed changes are there, and every card finds itself first.
    expect((await index.stats()).items).toBe(cards);
    expect((await index.search(vectorOf(cards), 1))[0]?.version.id).toBe('card-new@1');
    expect(await index.vectorOf('card-7@1')).toBeUndefined();
    for (const card of [0, 1, 2, 999, 3999]) {
      expect((await index.search(vectorOf(card), 1))[0]?.version.id).toBe(`card-${card}@1`);
    }
    await index.unload();
  }, 120_000);
});

describe('createRecommendationIndex structured filters', () => {
  it('answers structured filters from the attribute index, as the predicate would, through changes and reloads', async () => {
    const { modelFilterPredicate } = await import('../model-filters.js');
    const artifacts = createMemoryArtifactStore();
    const versions = catalogue(400).map((item, position) =>
      ModelVersionSchema.parse({
        ...item,
        task: position % 2 === 0 ? 'translation' : 'summarization',
        tags: position % 50 === 0 ? ['Rare'] : [],
        stage: position % 3 === 0 ? 'production' : 'draft',
      }),
    );
    const index = open(artifacts, versions);
    await index.ensureLoaded();
    const check = async (filters: Parameters<typeof modelFilterPredicate>[0], exclude?: string) => {
      const query = await index.embed('poetry number 7');
      const structured = await index.search(query, 5, filters, exclude);
      const predicate = await index.search(query, 5, modelFilterPredicate(filters), exclude);
      expect(structured.map((hit) => hit.version.id)).toEqual(predicate.map((hit) => hit.version.id));
      expect(structured.every((hit) => modelFilterPredicate(filters)(hit.version))).toBe(true);
      return structured;
    };
    expect(await check({ tags: ['rare'] })).toHaveLength(5);
    expect(await check({ tags: ['RARE'], stage: 'production' })).toHaveLength(3);
    await check({ task: 'translation', stage: ['draft'] }, 'model-2@1');
    // A stage change (refresh), a removal and an upsert are seen by the next filtered search.
    const promoted = ModelVersionSchema.parse({ ...versions[50], stage: 'production' });
    await index.refresh(promoted);
    expect((await check({ tags: ['rare'], stage: 'production' })).map((hit) => hit.version.id)).toContain(
      'model-50@1',
    );
    await index.remove('model-0@1');
    const added = ModelVersionSchema.parse({ ...version('model-new', 'poetry number 7'), tags: ['rare'] });
    versions.push(added);
    await index.upsert(added);
    const after = await check({ tags: ['rare'] });
    expect(after[0]?.version.id).toBe('model-new@1');
    expect(after.map((hit) => hit.version.id)).not.toContain('model-0@1');
    expect(await check({ name: 'absent' })).toEqual([]);
    // Loaded from the store (records rebuilt from storage): the same answers.
    await index.flush();
    const reader = open(
      artifacts,
      versions.filter((item) => item.id !== 'model-0@1'),
    );
    const query = await reader.embed('poetry number 7');
    expect((await reader.search(query, 5, { tags: ['rare'] })).map((hit) => hit.version.id)).toEqual(
      after.map((hit) => hit.version.id),
    );
  });
});
