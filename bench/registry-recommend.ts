// Registry recommendation quality and speed: `npx tsx bench/registry-recommend.ts` prints one JSON line
// per figure. Synthetic model cards (name, task, base model, languages, tags, description) are embedded
// with the default hashing embedder; the HNSW index (hnswlib-node, cosine) is checked against brute force.
// Figures per catalogue size: index build seconds, recall@10 (mean over queries), query latency p50/p99.
// `REGISTRY_BENCH_SIZES=10000` picks sizes; M / efConstruction / efSearch via REGISTRY_BENCH_M, _EFC, _EF.
// Search paths: the index answers a query exactly from per-dimension posting lists when they are cheap
// (the hashing embedder's vectors are sparse), through the HNSW graph otherwise. `REGISTRY_BENCH_SPARSE`
// = `off` (default: graph only, the library's default), `on` (posting lists enabled, the index picks per query) or
// `both` (the two modes over the same built index). Every figure carries `mode`, and the latency and
// recall figures `paths` (how many timed queries each path served); per size, `sparse-build-seconds`
// (posting lists built on the first search) and `sparse-bytes-per-card` are printed too. With the hashing
// embedder the cards are ~45% dense (character trigrams), so at 100,000 cards most queries read ~9.5% of
// a full scan and the default `sparseCostFraction` (1/32) sends them to the graph; see docs/registry.md.
import { performance } from 'node:perf_hooks';
import { createSeededRandom } from '@tunekit/core/statistics';
import { createHashingEmbedder, createHnswVectorIndex } from '@tunekit/registry';

const sizes = (process.env.REGISTRY_BENCH_SIZES ?? '10000,100000').split(',').filter(Boolean).map(Number);
const stressSizes = (process.env.REGISTRY_BENCH_STRESS_SIZES ?? '10000')
  .split(',')
  .filter(Boolean)
  .map(Number);
const m = Number(process.env.REGISTRY_BENCH_M ?? 32);
const efConstruction = Number(process.env.REGISTRY_BENCH_EFC ?? 200);
const efSearchValues = (process.env.REGISTRY_BENCH_EF ?? '128,256,512').split(',').map(Number);
const sparseModes = { on: ['sparse'], off: ['graph'], both: ['sparse', 'graph'] }[
  process.env.REGISTRY_BENCH_SPARSE ?? 'off'
] as Array<'sparse' | 'graph'> | undefined;
if (sparseModes === undefined) throw new Error('REGISTRY_BENCH_SPARSE must be on, off or both');
const QUERIES = 300;
const K = 10;
const DIMENSIONS = 256;

const random = createSeededRandom(7);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const syllables = [
  'ka',
  'to',
  'ri',
  'mu',
  'sen',
  'lo',
  'ba',
  'ne',
  'qui',
  'dra',
  'vel',
  'po',
  'zan',
  'ti',
  'or',
];
const word = () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(syllables)).join('');
const vocabulary = Array.from({ length: 6000 }, word);
// Zipf-like word choice: a few frequent words, a long tail.
const zipfWord = () => vocabulary[Math.floor(vocabulary.length * random() ** 3)] as string;
const tasks = [
  'text-generation',
  'text-classification',
  'summarization',
  'translation',
  'question-answering',
];
const bases = [
  'gpt2',
  'Qwen/Qwen2-0.5B',
  'meta-llama/Llama-3.2-1B',
  'bert-base-uncased',
  'distilbert',
  'phi-2',
];
const languages = ['en', 'ja', 'de', 'fr', 'es', 'zh', 'ko', 'pt', 'it', 'nl'];
const tags = Array.from({ length: 300 }, word);

/**
 * Two corpora. `topics` (the headline figures): cards belong to one of `size / 100` topics (a model
 * family: name stem, task, base model, language, tags and 25 characteristic words); descriptions draw
 * 70% of their words from the topic and 30% from the general Zipf vocabulary; queries are written the
 * same way. Real catalogues look like this (families of versions, shared domain words). `random`
 * (stress): every card and query is independent Zipf words, so there is no neighbourhood structure.
 */
interface Topic {
  stem: string;
  task: string;
  base: string;
  language: string;
  tags: string[];
  words: string[];
}
const makeTopic = (): Topic => ({
  stem: `${word()}-${word()}`,
  task: pick(tasks),
  base: pick(bases),
  language: pick(languages),
  tags: Array.from({ length: 3 }, () => pick(tags)),
  words: Array.from({ length: 25 }, () => pick(vocabulary)),
});
const mixedWords = (topic: Topic | undefined, count: number) =>
  Array.from({ length: count }, () =>
    topic !== undefined && random() < 0.7 ? pick(topic.words) : zipfWord(),
  ).join(' ');

function cardText(topic: Topic | undefined): string {
  const description = mixedWords(topic, 8 + Math.floor(random() * 16));
  if (topic === undefined) {
    return [`${word()} ${word()}`, pick(tasks), pick(bases), pick(languages), pick(tags), description].join(
      '\n',
    );
  }
  return [
    `${topic.stem} v${Math.floor(random() * 20)}`,
    topic.task,
    topic.base,
    topic.language,
    topic.tags.slice(0, 1 + Math.floor(random() * 3)).join(' '),
    description,
  ].join('\n');
}

const queryText = (topic: Topic | undefined) => mixedWords(topic, 3 + Math.floor(random() * 6));

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
}

const embedder = createHashingEmbedder({ dimensions: DIMENSIONS });
const emit = (figure: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: 'registry-recommend',
      ...figure,
      m,
      efConstruction,
      dimensions: DIMENSIONS,
    }),
  );

const runs = [
  ...sizes.map((size) => ({ size, corpus: 'topics' as const })),
  ...stressSizes.map((size) => ({ size, corpus: 'random' as const })),
];
for (const { size, corpus } of runs) {
  const topics = corpus === 'topics' ? Array.from({ length: Math.max(1, size / 100) }, makeTopic) : [];
  const topicOf = () => (topics.length > 0 ? pick(topics) : undefined);
  const vectors = new Float32Array(size * DIMENSIONS);
  for (let item = 0; item < size; item += 1)
    vectors.set(embedder.embedOne(cardText(topicOf())), item * DIMENSIONS);

  const index = await createHnswVectorIndex(DIMENSIONS, {
    m,
    efConstruction,
    capacity: size,
    // The exact sparse path is off by default; the bench enables it to measure it.
    sparseMaximumDensity: sparseModes.includes('sparse') ? 0.7 : 0,
  });
  const buildStarted = performance.now();
  for (let item = 0; item < size; item += 1) {
    index.upsert(String(item), vectors.subarray(item * DIMENSIONS, (item + 1) * DIMENSIONS));
  }
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  emit({ figure: 'index-build-seconds', corpus, cards: size, value: Number(buildSeconds.toFixed(2)) });

  const queries = Array.from({ length: QUERIES }, () => embedder.embedOne(queryText(topicOf())));
  // Brute force over the same vectors (both sides L2-normalized: cosine = dot product).
  const truth = queries.map((query) => {
    const best: Array<{ item: number; score: number }> = [];
    for (let item = 0; item < size; item += 1) {
      let score = 0;
      const offset = item * DIMENSIONS;
      for (let dimension = 0; dimension < DIMENSIONS; dimension += 1) {
        score += (vectors[offset + dimension] as number) * (query[dimension] as number);
      }
      if (best.length < K || score > (best[K - 1] as { score: number }).score) {
        best.push({ item, score });
        best.sort((left, right) => right.score - left.score);
        if (best.length > K) best.pop();
      }
    }
    return {
      ids: new Set(best.map((entry) => String(entry.item))),
      boundary: (best[K - 1] as { score: number }).score,
    };
  });

  // The posting lists are built from the stored vectors on the first search that may use them.
  const sparseStarted = performance.now();
  index.search(queries[0] as Float32Array, K);
  if (index.sparseEnabled) {
    const common = { corpus, cards: size, mode: 'sparse' };
    const seconds = (performance.now() - sparseStarted) / 1000;
    emit({ figure: 'sparse-build-seconds', ...common, value: Number(seconds.toFixed(2)) });
    emit({ figure: 'sparse-bytes-per-card', ...common, value: Math.round(index.sparseBytes() / size) });
  }

  for (const mode of sparseModes)
    for (const efSearch of efSearchValues) {
      index.sparseSearch = mode === 'sparse';
      index.efSearch = efSearch;
      // Warm-up (JIT, caches) before timing.
      for (const query of queries.slice(0, 50)) index.search(query, K);
      const before = { ...index.searchCounts };
      const latencies: number[] = [];
      let found = 0;
      queries.forEach((query, position) => {
        const started = performance.now();
        const hits = index.search(query, K);
        latencies.push(performance.now() - started);
        const { ids, boundary } = truth[position] as { ids: Set<string>; boundary: number };
        // A hit tied with the 10th exact score (within float error) is an equally correct answer.
        found += hits.filter((hit) => ids.has(hit.id) || hit.score >= boundary - 1e-6).length;
      });
      latencies.sort((left, right) => left - right);
      const paths = {
        sparse: index.searchCounts.sparse - before.sparse,
        graph: index.searchCounts.graph - before.graph,
        exact: index.searchCounts.exact - before.exact,
      };
      const common = { corpus, cards: size, efSearch, mode, paths };
      emit({
        figure: 'recall@10',
        ...common,
        queries: QUERIES,
        value: Number((found / (QUERIES * K)).toFixed(4)),
      });
      emit({
        figure: 'query-latency-p50-ms',
        ...common,
        value: Number(percentile(latencies, 0.5).toFixed(3)),
      });
      emit({
        figure: 'query-latency-p99-ms',
        ...common,
        value: Number(percentile(latencies, 0.99).toFixed(3)),
      });
    }
}
