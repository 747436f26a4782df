import { readFile, writeFile } from 'node:fs/promises';
import { tunekitError } from '@tunekit/core';
import { checkHnswHeader, readHnswHeader, withTemporaryFile } from './hnsw-file-header.js';
import { DEFAULT_EF_SEARCH, type HnswParameters } from './hnsw-parameters.js';
import { loadHnswlib } from './load-hnswlib.js';
import { createSeededSampler } from './seeded-sampler.js';
import { createSparsePostingLists, type SparsePostingLists } from './sparse-posting-lists.js';
import { topHits } from './top-hits.js';
import type {
  SerializedVectorIndex,
  VectorIndex,
  VectorSearchCounts,
  VectorSearchHit,
} from './vector-index.js';
import { checkDimensions, countNonZero, dot, normalize } from './vector-math.js';

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
  let efSearch = parameters.efSearch ?? DEFAULT_EF_SEARCH;
  const exactFilterLimit = parameters.exactFilterLimit ?? 256;
  const sparseMaximumDensity = parameters.sparseMaximumDensity ?? 0;
  const sparseCostFraction = parameters.sparseCostFraction ?? 1 / 32;
  const filterSampleSize = parameters.filterSampleSize ?? 1024;
  const sample = createSeededSampler((parameters.seed ?? 100) * 2654435761);
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
      const { header, size } = await readHnswHeader(path);
      checkHnswHeader(header, size, serialized.labels, dimensions);
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
    const best = topHits(k);
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
    const best = topHits(Math.max(1, k));
    // In label order, as the sparse path scans, so ties resolve the same way on both.
    for (let label = 0; label < idOf.length; label += 1) {
      const id = idOf[label];
      if (id === null || id === undefined || (filter && !filter(id))) continue;
      best.offer(id, dot(normalized, graph.getPoint(label)));
    }
    return k <= 0 ? [] : best.hits;
  };

  /** Exact scores of the live items among `ids` (an attribute index's matches), best `k` first. */
  const scoreAmong = (query: ArrayLike<number>, k: number, ids: Iterable<string>) => {
    const normalized = normalize(query);
    const best = topHits(Math.max(1, k));
    const labels: number[] = [];
    for (const id of ids) {
      const label = labelOf.get(id);
      if (label !== undefined) labels.push(label);
    }
    // In label order, as `searchExact` scans, so ties resolve the same way on both.
    labels.sort((left, right) => left - right);
    for (const label of labels) best.offer(idOf[label] as string, dot(normalized, graph.getPoint(label)));
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
        throw tunekitError(
          'VALIDATION_FAILED',
          `Invalid efSearch ${String(value)}: expected a positive integer`,
        );
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
    searchAmong(query, k, ids) {
      checkDimensions(query, dimensions);
      const wanted = Math.min(Math.floor(k), labelOf.size);
      if (wanted <= 0 || ids.size === 0) return [];
      // The matches are known: scoring them exactly costs one vector read each (~50 filter calls'
      // worth, see `exactIsCheaper`), without the scan of every item that a predicate needs.
      if (ids.size <= exactFilterLimit || 25 * ids.size * ids.size < efSearch * labelOf.size) {
        searchCounts.exact += 1;
        return scoreAmong(query, wanted, ids);
      }
      searchCounts.graph += 1;
      const point = Array.from(query);
      const accept = (id: string) => ids.has(id);
      for (let ef = efSearch; ef <= efSearch * 16; ef *= 4) {
        const hits = graphSearch(point, wanted, ef, accept);
        if (hits.length >= Math.min(wanted, ids.size)) return hits;
      }
      return scoreAmong(query, wanted, ids);
    },
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
