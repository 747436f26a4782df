import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, TunekitError } from '@tunekit/core';
import type { HierarchicalNSW } from 'hnswlib-node';
import { createSparsePostingLists, type SparsePostingLists } from './sparse-posting-lists.js';

/** Graph and search parameters of an HNSW index. */
export interface HnswParameters {
  /** Links per node (hnswlib `M`, default 16). */
  m?: number;
  /** Candidate list size while building (default 200). */
  efConstruction?: number;
  /**
   * Candidate list size while searching, raised to `k` when smaller (default 256: recall@10 ≥ 0.98 on
   * 100,000 synthetic cards with the hashing embedder, see `bench/registry-recommend.ts`).
   */
  efSearch?: number;
  /** Initial capacity; the index doubles when full (default 1024). */
  capacity?: number;
  /** Random seed of level assignment (default 100). */
  seed?: number;
  /**
   * Filtered searches matching at most this many items are answered exactly (brute force over the
   * matches) instead of through the graph (default 256); above it, the exact path is still taken
   * when a cost estimate says it is cheaper (very selective filters over large catalogues, where
   * the graph would visit most items to collect `efSearch` matches). Each match scored exactly
   * costs one read of its vector out of hnswlib (`getPoint`, 15–100 µs at 384 dimensions), so at
   * 2,000 matches the exact path took ~250 ms where the graph's filtered search took a few ms
   * (`bench/registry-scale.ts`).
   */
  exactFilterLimit?: number;
  /**
   * Posting lists for exact sparse search are kept while the live items' average density (non-zero
   * values / dimensions) is at most this. Default 0: off. With the hashing embedder (cards about
   * 0.45 dense, queries about 38 of 256 dimensions) the sparse scan measured slower than the graph
   * at 100,000 cards and its lists cost about 2 KB per card (docs/registry.md), so it pays only for
   * small catalogues or truly sparse embedders: set e.g. 0.7 to enable it. Dense embedders never
   * build the lists.
   */
  sparseMaximumDensity?: number;
  /**
   * A query takes the exact sparse path when the posting entries it would read are at most this
   * fraction of `items × dimensions` (a brute-force scan); otherwise the graph (default 1/32:
   * a posting entry costs about 1.5 ns in JavaScript, so at 100,000 cards the scan beats the graph
   * at efSearch 256 only below about a million entries; the hashing embedder's 3–8 word queries read
   * about 2.4 million there, 9.5% of a full scan, and go to the graph).
   */
  sparseCostFraction?: number;
  /**
   * Live items sampled to estimate how many match a filter (default 1024). A filtered search over
   * more live items than this estimates the share from a sample instead of calling the filter on
   * every item (an O(n) scan per query: ~70 ms at 1,000,000 cards); only an estimate at most
   * `exactFilterLimit` sends the query to the exact path.
   */
  filterSampleSize?: number;
}

/** Which path answered searches: exact sparse scan, HNSW graph, or brute force. */
export interface VectorSearchCounts {
  sparse: number;
  graph: number;
  exact: number;
}

/** One search result: an item id and its cosine similarity to the query. */
export interface VectorSearchHit {
  id: string;
  score: number;
}

/**
 * What a vector index persists: the hnswlib file (its bytes, or the path of a local file, which
 * hnswlib reads directly without a copy in memory) and the label → id table.
 */
export type SerializedVectorIndex =
  | {
      /** hnswlib's index file. */
      bytes: Uint8Array;
      /** `labels[label]` is the item id of that label, or null for a deleted one. */
      labels: Array<string | null>;
    }
  | {
      /** Path of hnswlib's index file on the local filesystem. */
      path: string;
      /** `labels[label]` is the item id of that label, or null for a deleted one. */
      labels: Array<string | null>;
    };

/**
 * Cosine nearest-neighbour index over string ids (hnswlib-node's HNSW underneath, loaded lazily).
 * Upserts replace an item's vector in place, removals mark the element deleted, the capacity doubles
 * when full, and filtered searches never return fewer than `k` hits while more items match.
 *
 * Sparse vectors (the hashing embedder's) also get posting lists per dimension, kept while the
 * average density is at most `sparseMaximumDensity`: a query whose lists hold few entries next to a
 * full scan (`sparseCostFraction`) is answered exactly from them, with the same hits and scores as
 * {@link VectorIndex.searchExact}; other queries, and every query over dense vectors, go through
 * the graph. The lists are not persisted: a loaded index rebuilds them on its first search.
 */
export interface VectorIndex {
  readonly dimensions: number;
  /** Live (not deleted) items. */
  readonly size: number;
  /** Elements the graph can hold before it grows (live + deleted). */
  readonly capacity: number;
  /** Candidate list size of searches (settable: higher is slower and finds more true neighbours). */
  efSearch: number;
  /**
   * Whether `search` may take the exact sparse path (settable, default true; false forces the
   * graph, for comparisons). Posting lists are maintained either way while vectors are sparse.
   */
  sparseSearch: boolean;
  /** Whether posting lists are maintained now (average density at most `sparseMaximumDensity`). */
  readonly sparseEnabled: boolean;
  /** Searches answered per path since creation (counts `search` calls, not `searchExact`). */
  readonly searchCounts: Readonly<VectorSearchCounts>;
  /** Approximate bytes held by the posting lists (0 when not maintained). */
  sparseBytes(): number;
  /** Whether a live item has this id. */
  has(id: string): boolean;
  /** Ids of the live items. */
  ids(): string[];
  /** Adds an item, or replaces its vector (resizing the graph when full). */
  upsert(id: string, vector: ArrayLike<number>): void;
  /** Marks the item deleted; false when absent. */
  remove(id: string): boolean;
  /** The stored (normalized) vector of an item. */
  vector(id: string): Float32Array | undefined;
  /** The `k` items most similar to `query` (that pass `filter`), best first. */
  search(query: ArrayLike<number>, k: number, filter?: (id: string) => boolean): VectorSearchHit[];
  /** Exact search by brute force (for checks and small filtered sets). */
  searchExact(query: ArrayLike<number>, k: number, filter?: (id: string) => boolean): VectorSearchHit[];
  /** The hnswlib file bytes and the label table, for persistence (small indexes: the bytes are in memory). */
  serialize(): Promise<{ bytes: Uint8Array; labels: Array<string | null> }>;
  /**
   * Writes hnswlib's file to `path` and returns the label table: persistence without holding the
   * file in memory (1.6 GB at 1,000,000 items of 384 dimensions).
   */
  writeIndexFile(path: string): Promise<Array<string | null>>;
}

type HnswConstructor = new (space: 'cosine', dimensions: number) => HierarchicalNSW;

async function loadHnswlib(): Promise<HnswConstructor> {
  try {
    const module = (await import('hnswlib-node')) as unknown as {
      HierarchicalNSW?: HnswConstructor;
      default?: { HierarchicalNSW: HnswConstructor };
    };
    const hnsw = module.HierarchicalNSW ?? module.default?.HierarchicalNSW;
    if (hnsw === undefined) throw new Error('hnswlib-node exports no HierarchicalNSW');
    return hnsw;
  } catch (error) {
    throw new TunekitError({
      code: 'INTERNAL',
      status: ErrorCodes.INTERNAL.status,
      message: `hnswlib-node could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    });
  }
}

function normalize(vector: ArrayLike<number>): Float64Array {
  const result = Float64Array.from(vector);
  let norm = 0;
  for (const value of result) norm += value * value;
  if (norm > 0) {
    const scale = 1 / Math.sqrt(norm);
    for (let index = 0; index < result.length; index += 1) result[index] = (result[index] as number) * scale;
  }
  return result;
}

function countNonZero(vector: ArrayLike<number>): number {
  let count = 0;
  for (let index = 0; index < vector.length; index += 1) if (vector[index] !== 0) count += 1;
  return count;
}

function dot(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < left.length; index += 1)
    sum += (left[index] as number) * (right[index] as number);
  return sum;
}

/** Keeps the `k` best hits while scanning (a sorted insertion list; `k` is small). */
function topK(k: number) {
  const hits: VectorSearchHit[] = [];
  return {
    hits,
    offer(id: string, score: number) {
      if (hits.length === k && score <= (hits[k - 1] as VectorSearchHit).score) return;
      let position = hits.length;
      while (position > 0 && (hits[position - 1] as VectorSearchHit).score < score) position -= 1;
      hits.splice(position, 0, { id, score });
      if (hits.length > k) hits.pop();
    },
  };
}

async function withTemporaryFile<T>(work: (path: string) => Promise<T>): Promise<T> {
  const folder = await mkdtemp(join(tmpdir(), 'tunekit-hnsw-'));
  try {
    return await work(join(folder, 'index.bin'));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

function checkDimensions(vector: ArrayLike<number>, dimensions: number): void {
  if (vector.length !== dimensions) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: ErrorCodes.VALIDATION_FAILED.status,
      message: `Expected a vector of ${dimensions} dimensions, got ${vector.length}`,
      details: { expected: dimensions, actual: vector.length },
    });
  }
}

/**
 * Checks an hnswlib file header before the native reader sees it (hnswlib trusts the dimensions it is
 * given, so a file of other dimensions would be misread): `offsetLevel0, maxElements, count,
 * sizeDataPerElement, labelOffset, offsetData` are the first six 64-bit fields; the vector takes
 * `labelOffset - offsetData` bytes (4 per dimension).
 */
function checkHeader(
  header: Uint8Array,
  fileSize: number,
  labels: Array<string | null>,
  dimensions: number,
): void {
  if (header.byteLength < 96) throw new Error(`index file too short (${fileSize} bytes)`);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const field = (position: number) => Number(view.getBigUint64(position * 8, true));
  const [maxElements, count, sizeDataPerElement, labelOffset, offsetData] = [1, 2, 3, 4, 5].map(field) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const fileDimensions = (labelOffset - offsetData) / 4;
  if (fileDimensions !== dimensions) {
    throw new Error(`index file has ${fileDimensions} dimensions, expected ${dimensions}`);
  }
  if (count !== labels.length || count > maxElements) {
    throw new Error(`index file holds ${count} elements but ${labels.length} labels`);
  }
  if (fileSize < count * sizeDataPerElement) {
    throw new Error('index file is truncated');
  }
}

/** The first 96 bytes of a file and its size. */
async function readHeader(path: string): Promise<{ header: Uint8Array; size: number }> {
  const handle = await open(path, 'r');
  try {
    const header = new Uint8Array(96);
    const { bytesRead } = await handle.read(header, 0, 96, 0);
    return { header: header.subarray(0, bytesRead), size: (await stat(path)).size };
  } finally {
    await handle.close();
  }
}

/** A small seeded generator (xorshift32) for filter sampling: deterministic per index. */
function createSampler(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

/**
 * Creates an empty index, or loads one from {@link SerializedVectorIndex} (hnswlib reads files: a
 * path is read in place, bytes pass through a temporary file). Loading throws when the bytes are not a readable index of
 * these dimensions; callers rebuild then.
 *
 * @example
 * ```ts
 * const index = await createHnswVectorIndex(384, { m: 16, efConstruction: 200, efSearch: 100 });
 * index.upsert('tone-ja@1', vector);
 * const hits = index.search(query, 10, (id) => id.startsWith('tone-'));
 * ```
 */
export async function createHnswVectorIndex(
  dimensions: number,
  parameters: HnswParameters = {},
  serialized?: SerializedVectorIndex,
): Promise<VectorIndex> {
  const Hnsw = await loadHnswlib();
  const m = parameters.m ?? 16;
  const efConstruction = parameters.efConstruction ?? 200;
  let efSearch = parameters.efSearch ?? 256;
  const exactFilterLimit = parameters.exactFilterLimit ?? 256;
  const sparseMaximumDensity = parameters.sparseMaximumDensity ?? 0;
  const sparseCostFraction = parameters.sparseCostFraction ?? 1 / 32;
  const filterSampleSize = parameters.filterSampleSize ?? 1024;
  const sample = createSampler((parameters.seed ?? 100) * 2654435761);
  let sparseSearch = true;
  const graph = new Hnsw('cosine', dimensions);
  const labelOf = new Map<string, number>();
  const idOf: Array<string | null> = [];
  // Labels of removed items, reused by new ids (hnswlib's addPoint on a deleted label un-deletes it
  // and updates its vector in place), so a catalogue with churn does not grow the graph forever.
  const freeLabels: number[] = [];
  const searchCounts: VectorSearchCounts = { sparse: 0, graph: 0, exact: 0 };
  // Non-zero count of each label's stored vector (0 for deleted ones) and their sum over live items:
  // the average density decides whether posting lists are kept.
  const nonZeroOf: number[] = [];
  let liveNonZero = 0;
  // Posting lists while vectors are sparse; undefined while dense, or until rebuilt after a switch.
  let postings: SparsePostingLists | undefined;
  let scores = new Float64Array(0);

  if (serialized === undefined) {
    graph.initIndex({
      maxElements: Math.max(16, parameters.capacity ?? 1024),
      m,
      efConstruction,
      randomSeed: parameters.seed ?? 100,
    });
  } else {
    const readFrom = async (path: string) => {
      const { header, size } = await readHeader(path);
      checkHeader(header, size, serialized.labels, dimensions);
      await graph.readIndex(path, false);
    };
    if ('path' in serialized) await readFrom(serialized.path);
    else
      await withTemporaryFile(async (path) => {
        await writeFile(path, serialized.bytes);
        await readFrom(path);
      });
    if (graph.getCurrentCount() !== serialized.labels.length) {
      throw new Error(
        `index holds ${graph.getCurrentCount()} elements but ${serialized.labels.length} labels`,
      );
    }
    serialized.labels.forEach((id, label) => {
      idOf.push(id);
      nonZeroOf.push(0);
      if (id !== null) labelOf.set(id, label);
      else freeLabels.push(label);
    });
    // Posting lists are not persisted: count non-zeros from the stored vectors, build on first search.
    // Only when they may be used: each `getPoint` crosses into hnswlib (15–100 µs at 384
    // dimensions), which at 1,000,000 cards would add minutes to every load.
    if (sparseMaximumDensity > 0) {
      for (const label of labelOf.values()) {
        const count = countNonZero(graph.getPoint(label));
        nonZeroOf[label] = count;
        liveNonZero += count;
      }
    }
  }

  const isSparse = () =>
    sparseMaximumDensity > 0 &&
    labelOf.size > 0 &&
    liveNonZero <= sparseMaximumDensity * labelOf.size * dimensions;

  /** Posting lists, built from the stored vectors when vectors are sparse and none exist yet. */
  const currentPostings = (): SparsePostingLists | undefined => {
    if (!isSparse()) {
      postings = undefined;
      return undefined;
    }
    if (postings === undefined) {
      postings = createSparsePostingLists(dimensions);
      for (const label of labelOf.values()) postings.set(label, graph.getPoint(label));
    }
    return postings;
  };

  /** Exact search over the posting lists: scores every live item, then keeps the best `k`. */
  const sparseSearchOver = (
    lists: SparsePostingLists,
    normalized: Float64Array,
    queryDimensions: number[],
    k: number,
    filter?: (id: string) => boolean,
  ) => {
    if (scores.length < idOf.length) scores = new Float64Array(graph.getMaxElements());
    scores.fill(0, 0, idOf.length);
    lists.accumulate(normalized, queryDimensions, scores);
    // Labels ascend in the order ids were first added, as `labelOf` iterates in `searchExact`, so
    // ties resolve the same way.
    const best = topK(k);
    for (let label = 0; label < idOf.length; label += 1) {
      const score = scores[label] as number;
      if (best.hits.length === k && score <= (best.hits[k - 1] as VectorSearchHit).score) continue;
      const id = idOf[label];
      if (id === null || id === undefined || (filter !== undefined && !filter(id))) continue;
      best.offer(id, score);
    }
    return best.hits;
  };

  const liveIds = () => [...labelOf.keys()];

  /**
   * Whether scoring `matching` items exactly costs less than a filtered graph search. Exact: every
   * live item's filter call plus one vector read per match (`getPoint`, ~50 filter calls' worth).
   * Graph: to collect `efSearch` matches it visits about `efSearch / share` items, each a filter
   * call plus a distance (~2 filter calls' worth). Measured in `bench/registry-scale.ts`.
   */
  const exactIsCheaper = (matching: number) => {
    if (matching <= 0) return true;
    const items = labelOf.size;
    return items + 50 * matching < (2 * efSearch * items) / matching;
  };

  /**
   * How many live items pass `filter`: counted over every item when there are at most
   * `filterSampleSize`, otherwise estimated from that many labels drawn at random (deleted labels
   * are redrawn; when most labels are deleted the items are counted instead).
   */
  const estimateMatching = (filter: (id: string) => boolean): { matching: number; exact: boolean } => {
    if (labelOf.size <= filterSampleSize) {
      let matching = 0;
      for (const id of labelOf.keys()) if (filter(id)) matching += 1;
      return { matching, exact: true };
    }
    let drawn = 0;
    let passed = 0;
    for (let attempt = 0; attempt < filterSampleSize * 8 && drawn < filterSampleSize; attempt += 1) {
      const id = idOf[Math.floor(sample() * idOf.length)];
      if (id === null || id === undefined) continue;
      drawn += 1;
      if (filter(id)) passed += 1;
    }
    if (drawn < filterSampleSize) {
      let matching = 0;
      for (const id of labelOf.keys()) if (filter(id)) matching += 1;
      return { matching, exact: true };
    }
    return { matching: Math.round((passed / drawn) * labelOf.size), exact: false };
  };

  const searchExact = (query: ArrayLike<number>, k: number, filter?: (id: string) => boolean) => {
    checkDimensions(query, dimensions);
    const normalized = normalize(query);
    const best = topK(Math.max(1, k));
    // In label order, as the sparse path scans, so ties resolve the same way on both.
    for (let label = 0; label < idOf.length; label += 1) {
      const id = idOf[label];
      if (id === null || id === undefined || (filter && !filter(id))) continue;
      best.offer(id, dot(normalized, graph.getPoint(label)));
    }
    return k <= 0 ? [] : best.hits;
  };

  const graphSearch = (query: number[], k: number, ef: number, filter?: (id: string) => boolean) => {
    graph.setEf(Math.max(ef, k));
    const result = graph.searchKnn(
      query,
      Math.min(k, graph.getMaxElements()),
      filter === undefined
        ? undefined
        : (label: number) => {
            const id = idOf[label];
            return id !== null && id !== undefined && filter(id);
          },
    );
    return result.neighbors.map((label, position) => ({
      id: idOf[label] as string,
      score: 1 - (result.distances[position] as number),
    }));
  };

  return {
    dimensions,
    get size() {
      return labelOf.size;
    },
    get capacity() {
      return graph.getMaxElements();
    },
    get efSearch() {
      return efSearch;
    },
    get sparseSearch() {
      return sparseSearch;
    },
    set sparseSearch(value: boolean) {
      sparseSearch = value;
    },
    get sparseEnabled() {
      return postings !== undefined || isSparse();
    },
    searchCounts,
    sparseBytes: () => postings?.bytes() ?? 0,
    set efSearch(value: number) {
      if (!Number.isInteger(value) || value < 1) {
        throw new TunekitError({
          code: 'VALIDATION_FAILED',
          status: ErrorCodes.VALIDATION_FAILED.status,
          message: `Invalid efSearch ${String(value)}: expected a positive integer`,
        });
      }
      efSearch = value;
    },
    has: (id) => labelOf.has(id),
    ids: liveIds,
    upsert(id, vector) {
      checkDimensions(vector, dimensions);
      const point = Array.from(vector);
      const existing = labelOf.get(id);
      let label: number;
      if (existing !== undefined) {
        label = existing;
        graph.addPoint(point, label);
        liveNonZero -= nonZeroOf[label] as number;
      } else if (freeLabels.length > 0) {
        label = freeLabels.pop() as number;
        graph.addPoint(point, label);
        idOf[label] = id;
        labelOf.set(id, label);
      } else {
        if (graph.getCurrentCount() >= graph.getMaxElements()) {
          graph.resizeIndex(graph.getMaxElements() * 2);
        }
        label = idOf.length;
        graph.addPoint(point, label);
        idOf.push(id);
        nonZeroOf.push(0);
        labelOf.set(id, label);
      }
      const count = countNonZero(point);
      nonZeroOf[label] = count;
      liveNonZero += count;
      if (postings !== undefined) {
        // The graph stores the vector normalized (in float32): index those values, so sparse scores
        // equal brute-force scores over the stored vectors.
        if (isSparse()) postings.set(label, graph.getPoint(label));
        else postings = undefined;
      }
    },
    remove(id) {
      const label = labelOf.get(id);
      if (label === undefined) return false;
      graph.markDelete(label);
      labelOf.delete(id);
      idOf[label] = null;
      liveNonZero -= nonZeroOf[label] as number;
      nonZeroOf[label] = 0;
      postings?.delete(label);
      freeLabels.push(label);
      return true;
    },
    vector(id) {
      const label = labelOf.get(id);
      return label === undefined ? undefined : Float32Array.from(graph.getPoint(label));
    },
    search(query, k, filter) {
      checkDimensions(query, dimensions);
      const wanted = Math.min(Math.floor(k), labelOf.size);
      if (wanted <= 0) return [];
      const lists = sparseSearch ? currentPostings() : undefined;
      if (lists !== undefined) {
        const normalized = normalize(query);
        const queryDimensions: number[] = [];
        for (let dimension = 0; dimension < dimensions; dimension += 1) {
          if (normalized[dimension] !== 0) queryDimensions.push(dimension);
        }
        // Exact, and cheap when the lists it reads are short next to a scan of every vector.
        if (lists.cost(queryDimensions) <= sparseCostFraction * labelOf.size * dimensions) {
          searchCounts.sparse += 1;
          return sparseSearchOver(lists, normalized, queryDimensions, wanted, filter);
        }
      }
      let matching = labelOf.size;
      if (filter !== undefined) {
        const estimate = estimateMatching(filter);
        // An exact count is known when every live item was tested; an estimate is not, and the
        // graph search below falls back to an exact scan when it finds fewer than k.
        matching = estimate.exact ? estimate.matching : labelOf.size;
        if (estimate.matching <= exactFilterLimit || exactIsCheaper(estimate.matching)) {
          searchCounts.exact += 1;
          return searchExact(query, wanted, filter);
        }
      }
      searchCounts.graph += 1;
      const expected = Math.min(wanted, matching);
      const point = Array.from(query);
      // The graph may return fewer than k when many elements are deleted or filtered out: widen the
      // candidate list, then fall back to an exact scan, so callers always get min(k, matching) hits.
      for (let ef = efSearch; ef <= efSearch * 16; ef *= 4) {
        const hits = graphSearch(point, wanted, ef, filter);
        if (hits.length >= expected) return hits;
      }
      return searchExact(query, wanted, filter);
    },
    searchExact,
    async serialize() {
      const bytes = await withTemporaryFile(async (path) => {
        await graph.writeIndex(path);
        return new Uint8Array(await readFile(path));
      });
      return { bytes, labels: [...idOf] };
    },
    async writeIndexFile(path) {
      await graph.writeIndex(path);
      return [...idOf];
    },
  };
}
