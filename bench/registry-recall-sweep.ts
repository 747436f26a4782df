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
 *
 * Before the builds, one `difficulty` line per query kind (`card-like`, `more-like-this`, `all`)
 * gives the data's difficulty as public benchmarks measure it (`bench/lib/neighbour-difficulty.ts`:
 * median ln RC_100, ln RC_k at the density of VIBE's 677,305-vector yahoo-minilm-384 dataset, RC_10,
 * and LID over the 100 nearest); `REGISTRY_SWEEP_M=` (empty) stops there.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createHnswVectorIndex } from '@tunekit/registry';
import { median, type NeighbourDifficulty, neighbourDifficulty } from './lib/neighbour-difficulty.js';
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
/** Queries compared with brute force (`REGISTRY_SWEEP_QUERIES`, default 300; more steadies the p99). */
const QUERIES = Number(process.env.REGISTRY_SWEEP_QUERIES ?? 300);
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
  const kinds: string[] = [];
  const queries = Array.from({ length: QUERIES }, () => {
    const query = new Float32Array(dimensions);
    kinds.push(source.query(query));
    return query;
  });
  // Exact answers (the 10th best score per query; vectors are unit length: dot = cosine) and how
  // hard each query is (relative contrast and LID over its 100 nearest, as public benchmarks report).
  // VIBE's yahoo-minilm-384 (all-MiniLM-L6-v2, this registry's embedder size) has 677,305 vectors:
  // its 100th neighbour sits at about the density of the `100 · cards / 677,305`-th here.
  const kAtYahooDensity = Math.max(1, Math.round((100 * cards) / 677_305));
  const difficulties = queries.map((query) =>
    neighbourDifficulty(vectors, cards, dimensions, query, [kAtYahooDensity]),
  );
  const boundaries = difficulties.map((difficulty) => difficulty.boundary10);
  for (const kind of ['card-like', 'more-like-this', 'all']) {
    const chosen = difficulties.filter((_, position) => kind === 'all' || kinds[position] === kind);
    if (chosen.length === 0) continue;
    const figure = (pick: (difficulty: NeighbourDifficulty) => number) =>
      Number(median(chosen.map(pick)).toFixed(3));
    emit({
      figure: 'difficulty',
      cards,
      queries: kind,
      count: chosen.length,
      median_log_rc100: figure((difficulty) => Math.log(difficulty.rc[100] as number)),
      k_at_yahoo_density: kAtYahooDensity,
      median_log_rc_at_yahoo_density: figure((difficulty) =>
        Math.log(difficulty.rc[kAtYahooDensity] as number),
      ),
      median_rc10: figure((difficulty) => difficulty.rc[10] as number),
      median_lid100: figure((difficulty) => difficulty.lid100),
    });
  }
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
      const foundByKind: Record<string, number> = {};
      // CPU time per query: on a shared machine, wall latencies measure the scheduler as much as the
      // index; CPU time compares configurations even under load.
      const queryCpu = process.cpuUsage();
      for (const [position, query] of queries.entries()) {
        const begun = performance.now();
        const hits = index.search(query, K);
        latencies.push(performance.now() - begun);
        // A hit counts when it scores at least the exact 10th best (ties are equally right).
        const right = hits.filter((hit) => hit.score >= (boundaries[position] as number) - 1e-6).length;
        found += right;
        const kind = kinds[position] as string;
        foundByKind[kind] = (foundByKind[kind] ?? 0) + right;
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
        by_query_kind: Object.fromEntries(
          Object.entries(foundByKind).map(([kind, count]) => [
            kind,
            Number((count / (kinds.filter((other) => other === kind).length * K)).toFixed(4)),
          ]),
        ),
        p50_ms: Number(percentile(latencies, 0.5).toFixed(3)),
        p99_ms: Number(percentile(latencies, 0.99).toFixed(3)),
        cpu_ms_per_query: Number(((cpuUsed.user + cpuUsed.system) / 1000 / QUERIES).toFixed(3)),
      });
    }
  }
}
