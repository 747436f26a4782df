/**
 * The registry's recommendation index at catalogue scale: `npx tsx bench/registry-scale.ts` prints one
 * JSON line per figure. `REGISTRY_SCALE_SIZES` picks the catalogue sizes (default `100000`; add
 * `1000000` for the million-card run: ~25 CPU minutes of HNSW build and ~4 GB of memory).
 *
 * Cards get synthetic 384-dimensional embeddings (the size of all-MiniLM-L6-v2, the transformers
 * embedder's default) from `bench/lib/synthetic-card-embeddings.ts`: `hard` by default (nested,
 * anisotropic topics, near-duplicates, "more like this" queries), `easy` as the first runs had
 * (`REGISTRY_SCALE_DATA=easy`); queries are never card vectors. A table embedder hands the
 * registry these vectors, so everything else is the
 * registry's own code: {@link createRecommendationIndex} builds the index from the versions, saves it
 * to a file artifact store, loads it back and reconciles it, and answers searches.
 *
 * Figures per size: build seconds (wall and CPU), resident memory after the build, snapshot seconds
 * and bytes (hnsw.bin, labels.bin, index.json), load seconds, recall@10 against exact search (brute
 * force over the same vectors) with query p50/p99 for efSearch 64/128/256 (`REGISTRY_SCALE_EF`),
 * filtered query p50/p99 (a 20% task filter through the graph; a 0.1% tag filter from the attribute
 * index, and as a predicate for comparison), and the latency
 * of incremental upserts and removals at that size, and query latency while `rebuild()` builds a new
 * index in the background (its graph in a worker thread; queries keep answering from the current
 * one). Every line carries the load average.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createFileArtifactStore, type ModelVersion } from '@tunekit/core';
import {
  createRecommendationIndex,
  type Embedder,
  type ModelFilters,
  modelFilterPredicate,
} from '@tunekit/registry';
import { createCardEmbeddings } from './lib/synthetic-card-embeddings.js';

const sizes = (process.env.REGISTRY_SCALE_SIZES ?? '100000').split(',').filter(Boolean).map(Number);
const efValues = (process.env.REGISTRY_SCALE_EF ?? '64,128,256').split(',').map(Number);
/** HNSW build candidate list (the registry's default 200; lower builds faster, e.g. for 1M cards). */
const efConstruction = Number(process.env.REGISTRY_SCALE_EFC ?? 200);
const DIMENSIONS = 384;
const K = 10;
/** HNSW links per node (`REGISTRY_SCALE_M`, default: the registry's). */
const m = process.env.REGISTRY_SCALE_M === undefined ? undefined : Number(process.env.REGISTRY_SCALE_M);
/**
 * The synthetic data (`REGISTRY_SCALE_DATA`: `hard`, the default, or `easy`, the first runs' data;
 * `REGISTRY_SCALE_NOISE` overrides the noise norm): see `bench/lib/synthetic-card-embeddings.ts`.
 */
const shape = {
  kind: process.env.REGISTRY_SCALE_DATA === 'easy' ? 'easy' : 'hard',
  noise:
    process.env.REGISTRY_SCALE_NOISE === undefined ? undefined : Number(process.env.REGISTRY_SCALE_NOISE),
} as const;
const TASKS = [
  'text-generation',
  'text-classification',
  'summarization',
  'translation',
  'question-answering',
];

const percentile = (sorted: number[], fraction: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
const load = () => loadavg().map((value) => Number(value.toFixed(2)));
const megabytes = (bytes: number) => Math.round(bytes / 1048576);
const emit = (figure: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: 'registry-scale',
      ...figure,
      dimensions: DIMENSIONS,
      data: shape,
      load: load(),
    }),
  );

for (const cards of sizes) {
  const queryCount = cards >= 1_000_000 ? 100 : 200;
  const source = createCardEmbeddings(cards, 11, shape);
  const vectors = new Float32Array(cards * DIMENSIONS);
  const now = new Date().toISOString();
  const shared = { language: ['en'], tags: [], metrics: {}, datasets: [], trainingParameters: {} };
  const versions: ModelVersion[] = new Array(cards);
  const makeVersion = (card: number, task: string): ModelVersion =>
    ({
      ...shared,
      id: `card-${card}@1`,
      name: `card-${card}`,
      versionNumber: 1,
      stage: 'draft',
      artifactUri: `artifact://models/card-${card}`,
      task,
      // Every 1,000th card is tagged: the 0.1% filter below.
      tags: card % 1000 === 0 ? ['rare'] : [],
      description: `#${card}`,
      createdBy: 'bench',
      createdAt: now,
      updatedAt: now,
      stageChangedAt: now,
      version: 0,
    }) as ModelVersion;
  for (let card = 0; card < cards; card += 1) {
    const topic = source.draw(vectors.subarray(card * DIMENSIONS, (card + 1) * DIMENSIONS));
    versions[card] = makeVersion(card, TASKS[topic % TASKS.length] as string);
  }
  // Extra vectors for incremental upserts after the build.
  const extraCount = 200;
  const extra = new Float32Array(extraCount * DIMENSIONS);
  for (let position = 0; position < extraCount; position += 1) {
    source.draw(extra.subarray(position * DIMENSIONS, (position + 1) * DIMENSIONS));
  }
  // The registry embeds `embeddingText(version)`; the card number is the description (`#<n>`).
  const embedder: Embedder = {
    name: 'bench-table',
    dimensions: DIMENSIONS,
    embed: async (texts) =>
      texts.map((text) => {
        const card = Number(text.slice(text.lastIndexOf('#') + 1));
        return card < cards
          ? vectors.subarray(card * DIMENSIONS, (card + 1) * DIMENSIONS)
          : extra.subarray((card - cards) * DIMENSIONS, (card - cards + 1) * DIMENSIONS);
      }),
  };
  const directory = mkdtempSync(join(tmpdir(), 'tunekit-registry-scale-'));
  const artifacts = createFileArtifactStore({ directory });
  const open = (efSearch: number) =>
    createRecommendationIndex({
      artifacts,
      resolveEmbedder: () => embedder,
      loadVersions: async () => versions,
      hnsw: { efSearch, efConstruction, ...(m === undefined ? {} : { m }) },
    });
  try {
    const rssBefore = process.memoryUsage().rss;
    let cpu = process.cpuUsage();
    let started = performance.now();
    const builder = open(256);
    const outcome = await builder.ensureLoaded();
    if (outcome?.kind !== 'rebuilt') throw new Error(`expected a rebuild, got ${JSON.stringify(outcome)}`);
    emit({
      figure: 'build-seconds',
      cards,
      value: Number(((performance.now() - started) / 1000).toFixed(1)),
      cpu_seconds: Number((process.cpuUsage(cpu).user / 1e6).toFixed(1)),
      m: m ?? 'default',
      efConstruction,
    });
    emit({
      figure: 'rss-after-build-mb',
      cards,
      value: megabytes(process.memoryUsage().rss),
      delta_mb: megabytes(process.memoryUsage().rss - rssBefore),
      vectors_mb: megabytes(vectors.byteLength),
    });
    started = performance.now();
    await builder.flush();
    const sizesOf = Object.fromEntries(
      await Promise.all(
        ['hnsw.bin', 'labels.bin', 'index.json'].map(async (file) => [
          file,
          megabytes((await artifacts.stat(`artifact://registry/index/${file}`))?.size ?? 0),
        ]),
      ),
    );
    emit({
      figure: 'snapshot-seconds',
      cards,
      value: Number(((performance.now() - started) / 1000).toFixed(1)),
      files_mb: sizesOf,
    });

    // Incremental changes at this size: upserts of new cards and removals (no snapshot per change).
    const upsertMs: number[] = [];
    for (let position = 0; position < extraCount; position += 1) {
      const card = cards + position;
      versions.push(makeVersion(card, 'translation'));
      const begun = performance.now();
      await builder.upsert(versions[versions.length - 1] as ModelVersion);
      upsertMs.push(performance.now() - begun);
    }
    const removeMs: number[] = [];
    for (let position = 0; position < extraCount; position += 1) {
      const begun = performance.now();
      await builder.remove(`card-${position * 7}@1`);
      removeMs.push(performance.now() - begun);
    }
    const removed = new Set(Array.from({ length: extraCount }, (_, position) => position * 7));
    for (let card = versions.length - 1; card >= 0; card -= 1) {
      const number = Number((versions[card] as ModelVersion).name.slice(5));
      if (number < cards && removed.has(number)) versions.splice(card, 1);
    }
    upsertMs.sort((left, right) => left - right);
    removeMs.sort((left, right) => left - right);
    for (const [kind, values] of [
      ['upsert', upsertMs],
      ['remove', removeMs],
    ] as const) {
      emit({
        figure: `${kind}-latency-ms`,
        cards,
        p50: Number(percentile(values, 0.5).toFixed(3)),
        p99: Number(percentile(values, 0.99).toFixed(3)),
        count: values.length,
      });
    }

    // A rebuild in the background (the graph built in a worker thread) while queries keep coming:
    // each query's latency, and the longest gap between two answers (what a query arriving in
    // between would wait at most).
    {
      const probes = Array.from({ length: 64 }, () => {
        const query = new Float32Array(DIMENSIONS);
        source.query(query);
        return query;
      });
      const during: number[] = [];
      let longestGap = 0;
      let done = false;
      cpu = process.cpuUsage();
      started = performance.now();
      const rebuilding = builder.rebuild().then(() => {
        done = true;
      });
      let previous = performance.now();
      for (let position = 0; !done; position += 1) {
        await new Promise((resolve) => setImmediate(resolve));
        const begun = performance.now();
        await builder.search(probes[position % probes.length] as Float32Array, K);
        const answered = performance.now();
        during.push(answered - begun);
        longestGap = Math.max(longestGap, answered - previous);
        previous = answered;
      }
      await rebuilding;
      during.sort((left, right) => left - right);
      emit({
        figure: 'query-latency-during-background-build-ms',
        cards,
        rebuild_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
        rebuild_cpu_seconds: Number((process.cpuUsage(cpu).user / 1e6).toFixed(1)),
        queries: during.length,
        p50: Number(percentile(during, 0.5).toFixed(3)),
        p99: Number(percentile(during, 0.99).toFixed(3)),
        longest_gap_ms: Number(longestGap.toFixed(1)),
      });
    }
    await builder.unload();

    // Queries and their exact answers (brute force over live cards; vectors are normalized).
    const live = versions.map((version) => Number(version.name.slice(5)));
    const queries = Array.from({ length: queryCount }, () => {
      const query = new Float32Array(DIMENSIONS);
      source.query(query);
      return query;
    });
    cpu = process.cpuUsage();
    started = performance.now();
    const truth = queries.map((query) => {
      const best: Array<{ card: number; score: number }> = [];
      for (const card of live) {
        const row = card < cards ? card * DIMENSIONS : 0;
        const from = card < cards ? vectors : extra;
        const offset = card < cards ? row : (card - cards) * DIMENSIONS;
        let score = 0;
        for (let index = 0; index < DIMENSIONS; index += 1) {
          score += (from[offset + index] as number) * (query[index] as number);
        }
        if (best.length < K || score > (best[K - 1] as { score: number }).score) {
          best.push({ card, score });
          best.sort((left, right) => right.score - left.score);
          if (best.length > K) best.pop();
        }
      }
      return {
        ids: new Set(best.map((entry) => `card-${entry.card}@1`)),
        boundary: (best[K - 1] as { score: number }).score,
      };
    });
    emit({
      figure: 'exact-search-ms-per-query',
      cards,
      value: Number(((performance.now() - started) / queryCount).toFixed(1)),
      note: 'brute force in JavaScript (the reference answers)',
    });

    for (const efSearch of efValues) {
      const index = open(efSearch);
      const rssBeforeLoad = process.memoryUsage().rss;
      started = performance.now();
      cpu = process.cpuUsage();
      const loaded = await index.ensureLoaded();
      emit({
        figure: 'load-seconds',
        cards,
        efSearch,
        outcome: loaded,
        value: Number(((performance.now() - started) / 1000).toFixed(2)),
        cpu_seconds: Number((process.cpuUsage(cpu).user / 1e6).toFixed(2)),
        rss_delta_mb: megabytes(process.memoryUsage().rss - rssBeforeLoad),
      });
      for (const query of queries.slice(0, 20)) await index.search(query, K);
      const latencies: number[] = [];
      let found = 0;
      for (const [position, query] of queries.entries()) {
        const begun = performance.now();
        const hits = await index.search(query, K);
        latencies.push(performance.now() - begun);
        const { ids, boundary } = truth[position] as { ids: Set<string>; boundary: number };
        found += hits.filter((hit) => ids.has(hit.version.id) || hit.score >= boundary - 1e-6).length;
      }
      latencies.sort((left, right) => left - right);
      emit({
        figure: 'recall@10',
        cards,
        efSearch,
        queries: queryCount,
        value: Number((found / (queryCount * K)).toFixed(4)),
        p50_ms: Number(percentile(latencies, 0.5).toFixed(3)),
        p99_ms: Number(percentile(latencies, 0.99).toFixed(3)),
      });
      if (efSearch === efValues[efValues.length - 1]) {
        // Structured filters, as `recommend` passes them (the attribute index answers them); the
        // predicate form of the 0.1% filter is what searches cost before it
        // (`bench/registry-filtered-search.ts` compares the two).
        const filters: Record<string, ModelFilters | ((version: ModelVersion) => boolean)> = {
          'task-20%': { task: 'summarization' },
          'tag-0.1%': { tags: ['rare'] },
          'tag-0.1%-predicate': (version: ModelVersion) => version.tags.includes('rare'),
        };
        for (const [name, filter] of Object.entries(filters)) {
          const accept = typeof filter === 'function' ? filter : modelFilterPredicate(filter);
          const filtered: number[] = [];
          for (const query of queries) {
            const begun = performance.now();
            const hits = await index.search(query, K, filter);
            filtered.push(performance.now() - begun);
            if (!hits.every((hit) => accept(hit.version))) throw new Error(`filter ${name} leaked`);
          }
          filtered.sort((left, right) => left - right);
          emit({
            figure: 'filtered-query-latency-ms',
            cards,
            efSearch,
            filter: name,
            p50: Number(percentile(filtered, 0.5).toFixed(3)),
            p99: Number(percentile(filtered, 0.99).toFixed(3)),
          });
        }
      }
      await index.unload();
    }
    emit({ figure: 'peak-rss-mb', cards, value: Math.round(process.resourceUsage().maxRSS / 1024) });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
