/**
 * How hard a query is for a nearest-neighbour index, measured the way public benchmarks measure it,
 * from the exact distances of the query to every vector. The distance is the cosine distance
 * `1 − cosine`, as VIBE computes it for its `-normalized` text-embedding datasets
 * (github.com/vector-index-bench/vibe: `vibe/datasets.py` averages `1 − inner product` over all
 * points, `vibe/distance.py` `normalized_cosine`, `export_results.py` `rc{k} = avg / distances[k−1]`),
 * so the figures compare with the RC_100 distributions on vector-index-bench.github.io/datasets.html.
 *
 * - Relative contrast `RC_k = d_avg / d_k` (He, Kumar and Chang 2012; plotted for k = 100 per dataset
 *   by VIBE, vector-index-bench.github.io/datasets.html): the mean distance to all vectors over the
 *   distance to the k-th nearest. Close to 1: the neighbours barely stand out (hard).
 * - Local intrinsic dimensionality, maximum-likelihood estimate over the k nearest (Levina and
 *   Bickel; used for query difficulty by Aumüller and Ceccarello 2019):
 *   `LID = −(mean over i ≤ k of ln(d_i / d_k))⁻¹`. Higher is harder.
 */
export interface NeighbourDifficulty {
  /** The exact k-th best cosine similarity for k = 10 (hits scoring at least this are right). */
  boundary10: number;
  /** `rc[k]`: relative contrast at each k asked for (10 and 100 always). */
  rc: Record<number, number>;
  lid100: number;
}

/** Exact scores of `query` against `count` unit vectors stored row-major in `vectors`, and their difficulty figures. */
export function neighbourDifficulty(
  vectors: Float32Array,
  count: number,
  dimensions: number,
  query: Float32Array,
  extraKs: readonly number[] = [],
): NeighbourDifficulty {
  const scores = new Float32Array(count);
  let distanceSum = 0;
  for (let card = 0; card < count; card += 1) {
    let score = 0;
    const offset = card * dimensions;
    for (let index = 0; index < dimensions; index += 1) {
      score += (vectors[offset + index] as number) * (query[index] as number);
    }
    scores[card] = score;
    distanceSum += 1 - score;
  }
  // Best first (a typed-array sort is numeric and native; negate to sort descending).
  for (let card = 0; card < count; card += 1) scores[card] = -(scores[card] as number);
  scores.sort();
  const scoreAt = (rank: number) => -(scores[Math.min(count, rank) - 1] as number);
  const distanceAt = (rank: number) => Math.max(1e-9, 1 - scoreAt(rank));
  const average = distanceSum / count;
  const k = Math.min(100, count);
  const farthest = distanceAt(k);
  let logSum = 0;
  for (let rank = 1; rank <= k; rank += 1) logSum += Math.log(distanceAt(rank) / farthest);
  const rc: Record<number, number> = {};
  for (const at of [10, 100, ...extraKs]) rc[at] = average / distanceAt(at);
  return {
    boundary10: scoreAt(10),
    rc,
    lid100: logSum === 0 ? Number.POSITIVE_INFINITY : -k / logSum,
  };
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
