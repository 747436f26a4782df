/**
 * Recall@10 and query latency of the HNSW index over (M, efSearch) on the synthetic card embeddings
 * of `bench/lib/synthetic-card-embeddings.ts`: `npx tsx bench/registry-recall-sweep.ts` prints one
 * JSON line per (size, M, efSearch) and one per build. The data for choosing the index's defaults.
 *
 * `REGISTRY_SWEEP_SIZES` (default `10000`), `REGISTRY_SWEEP_M` (`16,32`), `REGISTRY_SWEEP_EFC`
 * (`200`), `REGISTRY_SWEEP_EF` (`32,64,128,256,512`), `REGISTRY_SWEEP_DATA` (`hard` or `easy`),
 * `REGISTRY_SWEEP_NOISE`, `REGISTRY_SWEEP_SPREAD`, `REGISTRY_SWEEP_DUPLICATES` shape the run. Each
 * build goes through `createHnswVectorIndex` on this thread (its time is the figure), 300 queries
 * are compared with brute force over the same vectors; latency is reported as wall p50/p99 and as
 * CPU milliseconds per query (comparable under load). Every line carries the load average.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createHnswVectorIndex } from '@tunekit/registry';
import { createCardEmbeddings } from './lib/synthetic-card-embeddings.js';

const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback).split(',').filter(Boolean).map(Number);
const sizes = list('REGISTRY_SWEEP_SIZES', '10000');
const mValues = list('REGISTRY_SWEEP_M', '16,32');
const efConstruction = Number(process.env.REGISTRY_SWEEP_EFC ?? 200);
const efValues = list('REGISTRY_SWEEP_EF', '32,64,128,256,512');
const kind = process.env.REGISTRY_SWEEP_DATA === 'easy' ? 'easy' : 'hard';
const optional = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));
const shape = {
  kind,
  noise: optional('REGISTRY_SWEEP_NOISE'),
  spread: optional('REGISTRY_SWEEP_SPREAD'),
  duplicates: optional('REGISTRY_SWEEP_DUPLICATES'),
} as const;
const K = 10;
const QUERIES = 300;
const percentile = (sorted: number[], fraction: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
const emit = (figure: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: 'registry-recall-sweep',
      ...figure,
      data: shape,
      load: loadavg().map((value) => Number(value.toFixed(2))),
    }),
  );

for (const cards of sizes) {
  const source = createCardEmbeddings(cards, 11, shape);
  const { dimensions } = source;
  const vectors = new Float32Array(cards * dimensions);
  for (let card = 0; card < cards; card += 1)
    source.draw(vectors.subarray(card * dimensions, (card + 1) * dimensions));
  const queries = Array.from({ length: QUERIES }, () => {
    const query = new Float32Array(dimensions);
    source.query(query);
    return query;
  });
  // Exact answers: the 10th best score per query (vectors are unit length: dot = cosine).
  const boundaries = queries.map((query) => {
    const best: number[] = [];
    for (let card = 0; card < cards; card += 1) {
      let score = 0;
      const offset = card * dimensions;
      for (let index = 0; index < dimensions; index += 1) {
        score += (vectors[offset + index] as number) * (query[index] as number);
      }
      if (best.length < K || score > (best[K - 1] as number)) {
        best.push(score);
        best.sort((left, right) => right - left);
        if (best.length > K) best.pop();
      }
    }
    return best[K - 1] as number;
  });
  for (const m of mValues) {
    const index = await createHnswVectorIndex(dimensions, { m, efConstruction, capacity: cards });
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let card = 0; card < cards; card += 1) {
      index.upsert(`card-${card}`, vectors.subarray(card * dimensions, (card + 1) * dimensions));
    }
    emit({
      figure: 'build-seconds',
      cards,
      m,
      efConstruction,
      value: Number(((performance.now() - started) / 1000).toFixed(1)),
      cpu_seconds: Number((process.cpuUsage(cpu).user / 1e6).toFixed(1)),
    });
    for (const efSearch of efValues) {
      index.efSearch = efSearch;
      for (const query of queries.slice(0, 30)) index.search(query, K);
      const latencies: number[] = [];
      let found = 0;
      // CPU time per query: on a shared machine, wall latencies measure the scheduler as much as the
      // index; CPU time compares configurations even under load.
      const queryCpu = process.cpuUsage();
      for (const [position, query] of queries.entries()) {
        const begun = performance.now();
        const hits = index.search(query, K);
        latencies.push(performance.now() - begun);
        // A hit counts when it scores at least the exact 10th best (ties are equally right).
        found += hits.filter((hit) => hit.score >= (boundaries[position] as number) - 1e-6).length;
      }
      const cpuUsed = process.cpuUsage(queryCpu);
      latencies.sort((left, right) => left - right);
      emit({
        figure: 'recall@10',
        cards,
        m,
        efConstruction,
        efSearch,
        value: Number((found / (QUERIES * K)).toFixed(4)),
        p50_ms: Number(percentile(latencies, 0.5).toFixed(3)),
        p99_ms: Number(percentile(latencies, 0.99).toFixed(3)),
        cpu_ms_per_query: Number(((cpuUsed.user + cpuUsed.system) / 1000 / QUERIES).toFixed(3)),
      });
    }
  }
}
