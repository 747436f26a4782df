/**
 * The longest pause in answering queries while the registry's recommendation index rebuilds in the
 * background: `npx tsx bench/registry-rebuild-gap.ts` builds an index of `REGISTRY_GAP_CARDS` cards
 * (default 20,000; synthetic embeddings of `bench/lib/synthetic-card-embeddings.ts`, efConstruction
 * `REGISTRY_GAP_EFC`, default 100), then calls `rebuild()` while a loop keeps searching, and prints
 * one JSON line per gap of at least `REGISTRY_GAP_REPORT_MS` (default 100) between two answers, with
 * its start and end in ms since the rebuild began, beside the rebuild's own milestones (versions
 * loaded, embedding batches, the swap, the save): which step holds the thread that answers queries.
 * Run with `node --cpu-prof --import tsx` to see the functions inside a gap. The last line is the
 * summary (queries, p50/p99, longest gap, CPU seconds). Every line carries the load average.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createFileArtifactStore, type ModelVersion } from '@tunekit/core';
import { createRecommendationIndex, type Embedder } from '@tunekit/registry';
import { createCardEmbeddings } from './lib/synthetic-card-embeddings.js';

const cards = Number(process.env.REGISTRY_GAP_CARDS ?? 20_000);
const efConstruction = Number(process.env.REGISTRY_GAP_EFC ?? 100);
const reportMs = Number(process.env.REGISTRY_GAP_REPORT_MS ?? 100);
const DIMENSIONS = 384;

const emit = (figure: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: 'registry-rebuild-gap',
      ...figure,
      cards,
      load: loadavg().map((value) => Number(value.toFixed(2))),
    }),
  );

const source = createCardEmbeddings(cards, 11);
const vectors = new Float32Array(cards * DIMENSIONS);
const now = new Date().toISOString();
const versions: ModelVersion[] = [];
for (let card = 0; card < cards; card += 1) {
  source.draw(vectors.subarray(card * DIMENSIONS, (card + 1) * DIMENSIONS));
  versions.push({
    id: `card-${card}@1`,
    name: `card-${card}`,
    versionNumber: 1,
    stage: 'draft',
    artifactUri: `artifact://models/card-${card}`,
    task: 'text-generation',
    language: ['en'],
    tags: [],
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

// Milestones of the rebuild, in ms since it began (the embedder and the version loader are ours).
let origin = performance.now();
const milestones: Array<[string, number]> = [];
const mark = (name: string) => milestones.push([name, Number((performance.now() - origin).toFixed(1))]);
let embedCalls = 0;
const embedder: Embedder = {
  name: 'bench-table',
  dimensions: DIMENSIONS,
  embed: async (texts) => {
    embedCalls += 1;
    if (embedCalls === 1) mark('first embedding batch');
    return texts.map((text) => {
      const card = Number(text.slice(text.lastIndexOf('#') + 1));
      return vectors.subarray(card * DIMENSIONS, (card + 1) * DIMENSIONS);
    });
  },
};
const directory = mkdtempSync(join(tmpdir(), 'tunekit-registry-gap-'));
try {
  const index = createRecommendationIndex({
    artifacts: createFileArtifactStore({ directory }),
    resolveEmbedder: () => embedder,
    loadVersions: async () => {
      mark('versions loaded');
      return versions;
    },
    hnsw: { efConstruction },
  });
  await index.ensureLoaded();
  await index.flush();
  const probes = Array.from({ length: 64 }, () => {
    const query = new Float32Array(DIMENSIONS);
    source.query(query);
    return query;
  });
  milestones.length = 0;
  embedCalls = 0;
  const latencies: number[] = [];
  const gaps: Array<{ from: number; to: number; ms: number }> = [];
  let done = false;
  const cpu = process.cpuUsage();
  origin = performance.now();
  const rebuilding = index.rebuild().then(() => {
    mark('rebuild resolved (swapped and saved)');
    done = true;
  });
  let previous = performance.now();
  for (let position = 0; !done; position += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    const begun = performance.now();
    await index.search(probes[position % probes.length] as Float32Array, 10);
    const answered = performance.now();
    latencies.push(answered - begun);
    if (answered - previous >= reportMs) {
      gaps.push({
        from: Number((previous - origin).toFixed(1)),
        to: Number((answered - origin).toFixed(1)),
        ms: Number((answered - previous).toFixed(1)),
      });
    }
    previous = answered;
  }
  await rebuilding;
  const used = process.cpuUsage(cpu);
  for (const [name, at] of milestones) emit({ figure: 'milestone', name, at_ms: at });
  for (const gap of gaps) emit({ figure: 'gap', ...gap });
  latencies.sort((left, right) => left - right);
  const at = (fraction: number) =>
    Number(
      (
        latencies[Math.min(latencies.length - 1, Math.ceil(fraction * latencies.length) - 1)] as number
      ).toFixed(3),
    );
  emit({
    figure: 'query-latency-during-background-build-ms',
    efConstruction,
    rebuild_seconds: Number(((performance.now() - origin) / 1000).toFixed(1)),
    rebuild_cpu_seconds: Number(((used.user + used.system) / 1e6).toFixed(1)),
    queries: latencies.length,
    p50: at(0.5),
    p99: at(0.99),
    longest_gap_ms: Math.max(0, ...gaps.map((gap) => gap.ms)),
  });
} finally {
  rmSync(directory, { recursive: true, force: true });
}
