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
  /**
   * The `k` items among `ids` most similar to `query`, best first: for filters whose matches are
   * known (an attribute index's). Few matches are scored exactly (no item outside `ids` is looked
   * at); many go through the graph with a set-membership filter. Ids not in the index are ignored.
   */
  searchAmong(query: ArrayLike<number>, k: number, ids: ReadonlySet<string>): VectorSearchHit[];
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
