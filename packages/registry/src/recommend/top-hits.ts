import type { VectorSearchHit } from './vector-index.js';

/** Keeps the `k` best hits while scanning (a sorted insertion list; `k` is small). */
export function topHits(k: number) {
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
