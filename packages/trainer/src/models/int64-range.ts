import type { Graph, Value } from '../onnx/graph.js';

/** Adds an ONNX `Range` node: the int64 vector `start, start + 1, …, limit − 1` of run-time length. */
export function int64Range(graph: Graph, start: Value, limit: Value): Value {
  return graph.node('Range', [start, limit, graph.constant([1], 'int64', [])], {}, [
    { dtype: 'int64', shape: [graph.unknownDimension()] },
  ])[0] as Value;
}
