import type { Graph, Value } from '../onnx/graph.js';

/** Applies dropout with a ratio to a value, as {@link createSeededDropout} returns it. */
export type SeededDropout = (x: Value, ratio: number) => Value;

/**
 * Training-mode dropout for one forward pass: each call with a positive ratio adds a Dropout node
 * seeded `seed·1000 + n` (n counts the nodes added so far, from 1), so a graph is reproducible for a
 * seed. Without `dropout` (inference) or with a ratio ≤ 0 it returns its input unchanged.
 */
export function createSeededDropout(graph: Graph, dropout: { seed: number } | undefined): SeededDropout {
  let dropoutCount = 0;
  return (x, ratio) => {
    if (!dropout || ratio <= 0) return x;
    dropoutCount += 1;
    return graph.dropout(x, ratio, dropout.seed * 1000 + dropoutCount).output;
  };
}
