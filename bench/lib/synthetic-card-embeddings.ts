/**
 * Synthetic 384-dimensional card embeddings for the registry benches, shaped like sentence
 * embeddings (all-MiniLM-L6-v2's size).
 *
 * `easy` (the first scale bench's data): a shared mean direction (real embeddings are anisotropic:
 * cosine similarities of unrelated texts sit around 0.2–0.4), one of `cards / 100` topic centres,
 * isotropic noise. Neighbours are the ~100 cards of one tight topic, which HNSW finds at once:
 * recall@10 was 1.000 even at efSearch 64 at 100,000 cards.
 *
 * `hard` (the default): what makes real catalogues harder for a graph index.
 * - Topics nest: `cards / 100` topics in `cards / 2000` families; a topic's centre is its family's
 *   centre plus its own direction, so neighbouring topics overlap.
 * - Anisotropic topics: each topic spreads along 6 directions of its own (drawn from a pool of
 *   512, scales `spread × 1, 0.8, 0.6, 0.5, 0.4, 0.3`), plus isotropic noise of norm `noise`
 *   (1.25, calibrated: see `SyntheticEmbeddingOptions.noise`).
 * - Near-duplicates: a share `duplicates` of cards are an earlier card plus noise of norm 0.08
 *   (fine-tunes of one base, re-uploads), so many candidates sit at almost the same distance.
 * - Half the queries are "more like this" queries: a card plus noise of norm 0.15 (never the card
 *   itself); the other half are drawn like cards.
 */

/** Deterministic normal samples (Box–Muller over a 32-bit LCG). */
export function createNormal(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Scales a vector to unit length in place. */
export function normalizeInPlace(vector: Float32Array): void {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const scale = 1 / Math.sqrt(norm);
  for (let index = 0; index < vector.length; index += 1) vector[index] = (vector[index] as number) * scale;
}

/** Shape of the synthetic embeddings. */
export interface SyntheticEmbeddingOptions {
  /** `hard` (default) or `easy`, see the module comment. */
  kind?: 'easy' | 'hard';
  /**
   * Norm of the isotropic noise (default 0.8 easy, 1.25 hard). The hard default is calibrated on a
   * measured property, not on recall: with it, the card-like queries' median ln RC at 100,000 cards
   * (relative contrast at the 15th neighbour, the density of the 100th among VIBE's 677,305
   * yahoo-minilm-384 vectors; `bench/lib/neighbour-difficulty.ts`) is 0.58, where VIBE's
   * all-MiniLM-L6-v2 dataset has a median ln RC_100 of about 0.6 (vector-index-bench.github.io,
   * read off its plot). Noise 3 (the earlier default) gives 0.22, harder than every in-distribution
   * dataset there (the hardest, agnews-mxbai, about 0.3; noise 2 gives 0.32); noise 1: 0.74.
   */
  noise?: number;
  /** Scale of a hard topic's own directions (default 0.6). */
  spread?: number;
  /** Share of hard cards that are near-duplicates of an earlier card (default 0.25). */
  duplicates?: number;
  dimensions?: number;
}

/** A deterministic source of card and query vectors for a catalogue of `cards` cards. */
export function createCardEmbeddings(cards: number, seed: number, options: SyntheticEmbeddingOptions = {}) {
  const dimensions = options.dimensions ?? 384;
  const kind = options.kind ?? 'hard';
  const noise = (options.noise ?? (kind === 'easy' ? 0.8 : 1.25)) / Math.sqrt(dimensions);
  const spread = options.spread ?? 0.6;
  const duplicates = options.duplicates ?? 0.25;
  const normal = createNormal(seed);
  const unit = () => {
    const vector = Float32Array.from({ length: dimensions }, normal);
    normalizeInPlace(vector);
    return vector;
  };
  const mean = unit();
  const topics = Math.max(1, Math.round(cards / 100));
  const families = Math.max(1, Math.round(cards / 2000));
  const familyCentres = Array.from({ length: families }, unit);
  const centres = Array.from({ length: topics }, (_, topic) => {
    if (kind === 'easy') return unit();
    const own = unit();
    const family = familyCentres[topic % families] as Float32Array;
    return own.map((value, index) => 0.75 * value + 0.75 * (family[index] as number));
  });
  const pool = kind === 'hard' ? Array.from({ length: 512 }, unit) : [];
  const scales = [1, 0.8, 0.6, 0.5, 0.4, 0.3];
  let pick = seed >>> 0;
  // The high 24 bits of a 32-bit LCG: its low bits are short cycles (the lowest alternates), which
  // made every hard query the same kind and skewed the near-duplicate share before this was fixed.
  const next = () => {
    pick = (Math.imul(pick, 22695477) + 1) >>> 0;
    return pick >>> 8;
  };
  // Cards drawn so far (hard): near-duplicates copy one of them.
  const drawn: Float32Array[] = [];
  const addNoise = (into: Float32Array, norm: number) => {
    const scale = norm / Math.sqrt(dimensions);
    for (let index = 0; index < dimensions; index += 1)
      into[index] = (into[index] as number) + scale * normal();
  };
  /** Draws a fresh card-like vector into `into`; returns its topic. */
  const fresh = (into: Float32Array): number => {
    const topic = next() % topics;
    const centre = centres[topic] as Float32Array;
    for (let index = 0; index < dimensions; index += 1) {
      into[index] = 0.6 * (mean[index] as number) + (centre[index] as number) + noise * normal();
    }
    if (kind === 'hard') {
      for (const [rank, scale] of scales.entries()) {
        const direction = pool[(topic * 7 + rank * 131) % pool.length] as Float32Array;
        const amount = spread * scale * normal();
        for (let index = 0; index < dimensions; index += 1) {
          into[index] = (into[index] as number) + amount * (direction[index] as number);
        }
      }
    }
    normalizeInPlace(into);
    return topic;
  };
  return {
    dimensions,
    /** Draws the next card into `into` (kept, for `hard`, as a source of near-duplicates); returns its topic. */
    draw(into: Float32Array): number {
      let topic: number;
      if (kind === 'hard' && drawn.length > 0 && (next() % 1000) / 1000 < duplicates) {
        const original = drawn[next() % drawn.length] as Float32Array;
        into.set(original);
        addNoise(into, 0.08);
        normalizeInPlace(into);
        topic = next() % topics;
      } else {
        topic = fresh(into);
      }
      if (kind === 'hard' && drawn.length < 200_000) drawn.push(into);
      return topic;
    },
    /**
     * Draws a query (never a card itself) into `into`; returns its kind: `more-like-this` (a card plus
     * noise of norm 0.15) or `card-like` (drawn as a fresh card is, as held-out queries of public
     * benchmarks are).
     */
    query(into: Float32Array): 'more-like-this' | 'card-like' {
      if (kind === 'hard' && drawn.length > 0 && next() % 2 === 0) {
        into.set(drawn[next() % drawn.length] as Float32Array);
        addNoise(into, 0.15);
        normalizeInPlace(into);
        return 'more-like-this';
      }
      fresh(into);
      return 'card-like';
    },
  };
}
