import type { Dimension, Graph, Value } from '../onnx/graph.js';

/**
 * Reshapes a causal language model's 2-D logits `[batch·sequence, vocab]` to `[batch, sequence, vocab]`
 * using the run-time `[batch, sequence]` of the input ids; `dimensions` are the declared batch and
 * sequence dimensions of the result.
 */
export function reshapeCausalLogits(
  graph: Graph,
  forward: { logits: Value; batchSequenceShape: Value },
  vocabularySize: number,
  dimensions: [Dimension, Dimension],
): Value {
  const logitsShape = graph.concat([forward.batchSequenceShape, graph.int64s([vocabularySize])], 0);
  return graph.reshapeLike(forward.logits, logitsShape, [...dimensions, vocabularySize]);
}
