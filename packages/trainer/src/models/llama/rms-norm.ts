import { reduceToShape } from '../../autodiff/reduce-to-shape.js';
import type { Graph, Value } from '../../onnx/graph.js';
import { buildActivation } from '../build-activation.js';

/**
 * RMSNorm over the last axis as Hugging Face's `LlamaRMSNorm`: `weight · x / √(mean(x²) + ε)`,
 * built from Mul/ReduceMean/Add/Sqrt/Reciprocal with a hand-written gradient (checked by finite
 * differences in `llama-layers.test.ts`): with `r = 1/√(mean(x²) + ε)`, `n = x·r` and
 * `g = dy·weight`, `dx = r·(g − n·mean(g·n))` and `dweight = Σ dy·n`, 6 nodes backward where the
 * operator-by-operator rules need 15.
 */
export function buildRmsNorm(graph: Graph, x: Value, weight: Value, epsilon: number): Value {
  const axis = x.shape.length - 1;
  const meanSquare = graph.reduceMean(graph.mul(x, x), [axis], true);
  const inverse = graph.reciprocal(graph.sqrt(graph.add(meanSquare, graph.scalar(epsilon, x.dtype))));
  const normalized = graph.mul(x, inverse);
  const y = graph.mul(normalized, weight);
  graph.customGradient(y, [x, weight], (dy, forward) => {
    const [n, r] = [forward(normalized), forward(inverse)];
    const g = graph.mul(dy, forward(weight));
    const projection = graph.reduceMean(graph.mul(g, n), [axis], true);
    const dx = graph.mul(r, graph.sub(g, graph.mul(n, projection)));
    // Built only to be read when the weight is trained; otherwise no output depends on it and
    // serialization leaves it out.
    const dWeight = reduceToShape(graph, graph.mul(dy, n), weight);
    return [dx, dWeight];
  });
  return y;
}

/** SiLU-gated MLP activation: `silu(gate) · up` with `silu(x) = x·sigmoid(x)`. */
export function buildSiluGate(graph: Graph, gate: Value, up: Value): Value {
  return graph.mul(buildActivation(graph, gate, 'silu'), up);
}
