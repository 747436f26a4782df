import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, TunekitError } from '@tunekit/core';
import type { HierarchicalNSW } from 'hnswlib-node';

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
   * matches) instead of through the graph (default 2048).
   */
  exactFilterLimit?: number;
}

/** One search result: an item id and its cosine similarity to the query. */
export interface VectorSearchHit {
  id: string;
  score: number;
}

/** What a vector index persists: the hnswlib file and the label → id table. */
export interface SerializedVectorIndex {
  /** hnswlib's index file. */
  bytes: Uint8Array;
  /** `labels[label]` is the item id of that label, or null for a deleted one. */
  labels: Array<string | null>;
}

/**
 * Cosine nearest-neighbour index over string ids (hnswlib-node's HNSW underneath, loaded lazily).
 * Upserts replace an item's vector in place, removals mark the element deleted, the capacity doubles
 * when full, and filtered searches never return fewer than `k` hits while more items match.
 */
export interface VectorIndex {
  readonly dimensions: number;
  /** Live (not deleted) items. */
  readonly size: number;
  /** Elements the graph can hold before it grows (live + deleted). */
  readonly capacity: number;
  /** Candidate list size of searches (settable: higher is slower and finds more true neighbours). */
  efSearch: number;
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
  /** The hnswlib file bytes and the label table, for persistence. */
  serialize(): Promise<SerializedVectorIndex>;
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
function checkHeader(serialized: SerializedVectorIndex, dimensions: number): void {
  const { bytes, labels } = serialized;
  if (bytes.byteLength < 96) throw new Error(`index file too short (${bytes.byteLength} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
  if (bytes.byteLength < count * sizeDataPerElement) {
    throw new Error('index file is truncated');
  }
}

/**
 * Creates an empty index, or loads one from {@link SerializedVectorIndex} (hnswlib reads files, so
 * the bytes pass through a temporary file). Loading throws when the bytes are not a readable index of
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
  const exactFilterLimit = parameters.exactFilterLimit ?? 2048;
  const graph = new Hnsw('cosine', dimensions);
  const labelOf = new Map<string, number>();
  const idOf: Array<string | null> = [];

  if (serialized === undefined) {
    graph.initIndex({
      maxElements: Math.max(16, parameters.capacity ?? 1024),
      m,
      efConstruction,
      randomSeed: parameters.seed ?? 100,
    });
  } else {
    checkHeader(serialized, dimensions);
    await withTemporaryFile(async (path) => {
      await writeFile(path, serialized.bytes);
      await graph.readIndex(path, false);
    });
    if (graph.getCurrentCount() !== serialized.labels.length) {
      throw new Error(
        `index holds ${graph.getCurrentCount()} elements but ${serialized.labels.length} labels`,
      );
    }
    serialized.labels.forEach((id, label) => {
      idOf.push(id);
      if (id !== null) labelOf.set(id, label);
    });
  }

  const liveIds = () => [...labelOf.keys()];

  const searchExact = (query: ArrayLike<number>, k: number, filter?: (id: string) => boolean) => {
    checkDimensions(query, dimensions);
    const normalized = normalize(query);
    const best = topK(Math.max(1, k));
    for (const [id, label] of labelOf) {
      if (filter && !filter(id)) continue;
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
      if (existing !== undefined) {
        graph.addPoint(point, existing);
        return;
      }
      if (graph.getCurrentCount() >= graph.getMaxElements()) {
        graph.resizeIndex(graph.getMaxElements() * 2);
      }
      const label = idOf.length;
      graph.addPoint(point, label);
      idOf.push(id);
      labelOf.set(id, label);
    },
    remove(id) {
      const label = labelOf.get(id);
      if (label === undefined) return false;
      graph.markDelete(label);
      labelOf.delete(id);
      idOf[label] = null;
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
      let matching = labelOf.size;
      if (filter !== undefined) {
        matching = 0;
        for (const id of labelOf.keys()) if (filter(id)) matching += 1;
        if (matching <= exactFilterLimit) return searchExact(query, wanted, filter);
      }
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
  };
}
