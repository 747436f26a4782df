import type { Embedder } from '../embedders/embedder.js';

/** Graph and search parameters of an HNSW index. */
export interface HnswParameters {
  /** Links per node (hnswlib `M`, default 16). */
  m?: number;
  /** Candidate list size while building (default 200). */
  efConstruction?: number;
  /**
   * Candidate list size while searching, raised to `k` when smaller. Default: the embedder's own
   * `efSearch` (the hashing embedder: 256), else {@link DEFAULT_EF_SEARCH} (64: recall@10 1.000 on
   * 100,000 calibrated synthetic sentence embeddings and 0.993 on the harder stress data, M 16,
   * efConstruction 200; `bench/registry-recall-sweep.ts`, docs/performance.md).
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

/**
 * The index's `efSearch` when neither the parameters nor the embedder set one. Chosen from the
 * 100,000-card sweep on calibrated data (docs/performance.md): 48 is the cheapest setting with
 * recall@10 ≥ 0.98 on both the calibrated and the stress data; 64 (+28% CPU per query) leaves room
 * for larger catalogues, since one default serves every size.
 */
export const DEFAULT_EF_SEARCH = 64;

/**
 * The parameters an index over an embedder's vectors uses: `parameters` as given, with `efSearch`
 * taken from the embedder's own `efSearch` when the parameters leave it unset.
 */
export function hnswParametersFor(
  parameters: HnswParameters | undefined,
  embedder: Embedder,
): HnswParameters {
  const efSearch = parameters?.efSearch ?? embedder.efSearch;
  return efSearch === undefined ? { ...parameters } : { ...parameters, efSearch };
}
