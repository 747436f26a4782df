import type { Graph, Value } from '../../onnx/graph.js';
import { buildActivation } from '../build-activation.js';

/**
 * RMSNorm over the last axis as Hugging Face's `LlamaRMSNorm`:
 * `weight · x / √(mean(x²) + ε)`, built from Mul/ReduceMean/Add/Sqrt/Reciprocal (their gradient
 * rules compose to RMSNorm's; checked by finite differences in `llama-layers.test.ts`).
 */
export function buildRmsNorm(graph: Graph, x: Value, weight: Value, epsilon: number): Value {
  const axis = x.shape.length - 1;
  const meanSquare = graph.reduceMean(graph.mul(x, x), [axis], true);
  const inverse = graph.reciprocal(graph.sqrt(graph.add(meanSquare, graph.scalar(epsilon, x.dtype))));
  return graph.mul(graph.mul(x, inverse), weight);
}

/** SiLU-gated MLP activation: `silu(gate) · up` with `silu(x) = x·sigmoid(x)`. */
export function buildSiluGate(graph: Graph, gate: Value, up: Value): Value {
  return graph.mul(buildActivation(graph, gate, 'silu'), up);
}
