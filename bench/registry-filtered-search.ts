/**
 * Filtered recommendation searches at catalogue scale: `npx tsx bench/registry-filtered-search.ts`
 * prints one JSON line per (filter, path). The registry's recommendation index
 * ({@link createRecommendationIndex}) is built over `REGISTRY_FILTER_CARDS` cards (default 100,000)
 * of the synthetic embeddings of `bench/lib/synthetic-card-embeddings.ts`, at efConstruction
 * `REGISTRY_FILTER_EFC` (default 100: the filter paths, not the graph's quality, are measured), then
 * each filter is searched two ways:
 *
 * - `predicate`: a function of the version (what `recommend` passed before the attribute index): the
 *   index samples it to estimate the matches, then tests it on every card (exact path) or on every
 *   card the graph visits;
 * - `structured`: the same filter as `ModelFilters`, answered from the attribute index (matches
 *   known, scored exactly when few, through the graph with a set filter when many).
 *
 * Filters: `task` (20% of cards), `tag` (0.1%: every 1,000th card is tagged `rare`), `tag+stage`
 * (0.03%). Per filter and path: CPU ms per query (user + system, over 100 queries; comparable under
 * load), wall p50/p99, and recall@10 against brute force over the matching cards. Every line carries
 * the load average.
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

const cards = Number(process.env.REGISTRY_FILTER_CARDS ?? 100_000);
const efConstruction = Number(process.env.REGISTRY_FILTER_EFC ?? 100);
const DIMENSIONS = 384;
const K = 10;
const QUERIES = 100;
const TASKS = [
  'text-generation',
  'text-classification',
  'summarization',
  'translation',
  'question-answering',
];

const percentile = (sorted: number[], fraction: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
const emit = (figure: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: 'registry-filtered-search',
      ...figure,
      cards,
      efConstruction,
      load: loadavg().map((value) => Number(value.toFixed(2))),
    }),
  );

const source = createCardEmbeddings(cards, 11);
const vectors = new Float32Array(cards * DIMENSIONS);
const now = new Date().toISOString();
const versions: ModelVersion[] = [];
for (let card = 0; card < cards; card += 1) {
  const topic = source.draw(vectors.subarray(card * DIMENSIONS, (card + 1) * DIMENSIONS));
  versions.push({
    id: `card-${card}@1`,
    name: `card-${card}`,
    versionNumber: 1,
    stage: card % 3 === 0 ? 'production' : 'draft',
    artifactUri: `artifact://models/card-${card}`,
    task: TASKS[topic % TASKS.length],
    language: ['en'],
    tags: card % 1000 === 0 ? ['rare'] : [],
    metrics: {},
    datasets: [],
    trainingParameters: {},
    description: `#${card}`,
    createdBy: 'bench',
    createdAt: now,
    updatedAt: now,
    stageChangedAt: now,
    version: 0,
  } as ModelVersion);
}
const embedder: Embedder = {
  name: 'bench-table',
  dimensions: DIMENSIONS,
  embed: async (texts) =>
    texts.map((text) => {
      const card = Number(text.slice(text.lastIndexOf('#') + 1));
      return vectors.subarray(card * DIMENSIONS, (card + 1) * DIMENSIONS);
    }),
};
const directory = mkdtempSync(join(tmpdir(), 'tunekit-registry-filtered-'));
try {
  const index = createRecommendationIndex({
    artifacts: createFileArtifactStore({ directory }),
    resolveEmbedder: () => embedder,
    loadVersions: async () => versions,
    hnsw: { efConstruction },
  });
  let cpu = process.cpuUsage();
  const started = performance.now();
  await index.ensureLoaded();
  emit({
    figure: 'build-seconds',
    value: Number(((performance.now() - started) / 1000).toFixed(1)),
    cpu_seconds: Number((process.cpuUsage(cpu).user / 1e6).toFixed(1)),
  });
  const queries = Array.from({ length: QUERIES }, () => {
    const query = new Float32Array(DIMENSIONS);
    source.query(query);
    return query;
  });
  const filters: Record<string, ModelFilters> = {
    'task-20%': { task: 'summarization' },
    'tag-0.1%': { tags: ['rare'] },
    'tag+stage-0.03%': { tags: ['rare'], stage: 'production' },
  };
  for (const [name, filter] of Object.entries(filters)) {
    const accept = modelFilterPredicate(filter);
    const matching = versions.filter(accept).map((version) => Number(version.name.slice(5)));
    // Exact answers over the matching cards (vectors are unit length: dot = cosine).
    const truth = queries.map((query) => {
      const scores = matching.map((card) => {
        let score = 0;
        for (let dimension = 0; dimension < DIMENSIONS; dimension += 1) {
          score += (vectors[card * DIMENSIONS + dimension] as number) * (query[dimension] as number);
        }
        return score;
      });
      scores.sort((left, right) => right - left);
      return scores[Math.min(K, scores.length) - 1] as number;
    });
    for (const path of ['predicate', 'structured'] as const) {
      const argument = path === 'structured' ? filter : accept;
      for (const query of queries.slice(0, 10)) await index.search(query, K, argument);
      const latencies: number[] = [];
      let found = 0;
      cpu = process.cpuUsage();
      for (const [position, query] of queries.entries()) {
        const begun = performance.now();
        const hits = await index.search(query, K, argument);
        latencies.push(performance.now() - begun);
        if (!hits.every((hit) => accept(hit.version)))
          throw new Error(`${name} ${path}: a hit does not match`);
        found += hits.filter((hit) => hit.score >= (truth[position] as number) - 1e-6).length;
      }
      const used = process.cpuUsage(cpu);
      latencies.sort((left, right) => left - right);
      emit({
        figure: 'filtered-search',
        filter: name,
        matching: matching.length,
        path,
        cpu_ms_per_query: Number(((used.user + used.system) / 1000 / QUERIES).toFixed(3)),
        p50_ms: Number(percentile(latencies, 0.5).toFixed(3)),
        p99_ms: Number(percentile(latencies, 0.99).toFixed(3)),
        recall_at_10: Number((found / (QUERIES * Math.min(K, matching.length))).toFixed(4)),
      });
    }
  }
  // The build's snapshot is saved in the background: wait for it, or it recreates the folder.
  await index.unload();
} finally {
  rmSync(directory, { recursive: true, force: true });
}
