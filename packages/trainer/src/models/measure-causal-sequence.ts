import type { Graph, Value } from '../onnx/graph.js';

/** Run-time lengths of a causal forward pass, as {@link measureCausalSequence} returns them. */
export interface CausalSequenceLengths {
  /** `[batch, sequence]` of the input ids (int64 vector). */
  batchSequenceShape: Value;
  /** The new tokens' count (int64 scalar). */
  sequenceLength: Value;
  /** The cached tokens' count, 0 without a cache (int64 scalar). */
  pastLength: Value;
  /** `pastLength + sequenceLength` (int64 scalar). */
  totalLength: Value;
}

/**
 * Measures the input ids and the key/value cache at run time: batch and sequence shape, the new
 * and cached token counts (the cache's axis 2, `[batch, heads, past, headSize]`) and their sum.
 */
export function measureCausalSequence(
  graph: Graph,
  inputIds: Value,
  past: ReadonlyArray<{ key: Value }> | undefined,
): CausalSequenceLengths {
  const int64Scalar = (value: Value, index: number): Value =>
    graph.gather(value, graph.constant([index], 'int64', []), 0);
  const batchSequenceShape = graph.shapeOf(inputIds);
  const sequenceLength = int64Scalar(batchSequenceShape, 1);
  const pastLength = past?.[0]
    ? int64Scalar(graph.shapeOf(past[0].key), 2)
    : graph.constant([0], 'int64', []);
  const totalLength = graph.add(pastLength, sequenceLength);
  return { batchSequenceShape, sequenceLength, pastLength, totalLength };
}
