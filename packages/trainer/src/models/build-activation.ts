import type { Graph, Value } from '../onnx/graph.js';

/** Activation functions of the built-in architectures, by their Hugging Face names. */
export type ActivationName = 'relu' | 'gelu' | 'gelu_new' | 'silu';

/**
 * An activation on a graph, in `x`'s dtype (so float64 gradient checks can run it).
 *
 * - `gelu_new` (GPT-2's tanh GELU): `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, written as
 *   `y = x·σ(z)`, `z = x·(k + 0.044715·k·x²)`, `k = 2√(2/π)`, with a hand-fused gradient
 *   `dy·(σ + y·(1 − σ)·(k + 3·0.044715·k·x²))`: 7 element-wise operators backward where the
 *   operator-by-operator rules need 12 and a 4-way sum.
 * - `silu` (`x·σ(x)`): gradient `dy·(σ + y·(1 − σ))`, 4 operators instead of 6.
 * - `gelu` (erf): `0.5·x·(1 + erf(x/√2))`, differentiated operator by operator.
 */
export function buildActivation(graph: Graph, x: Value, name: ActivationName): Value {
  const scalar = (value: number) => graph.scalar(value, x.dtype);
  switch (name) {
    case 'relu':
      return graph.relu(x);
    case 'gelu': {
      const erf = graph.erf(graph.mul(x, scalar(Math.SQRT1_2)));
      return graph.mul(graph.mul(x, scalar(0.5)), graph.add(erf, scalar(1)));
    }
    case 'silu': {
      const sigmoid = graph.sigmoid(x);
      const y = graph.mul(x, sigmoid);
      graph.customGradient(y, [x], (dy, forward) => {
        const [s, out] = [forward(sigmoid), forward(y)];
        return [graph.mul(dy, graph.add(s, graph.mul(out, graph.sub(scalar(1), s))))];
      });
      return y;
    }
    case 'gelu_new': {
      const k = 2 * Math.sqrt(2 / Math.PI);
      const cubic = 0.044715 * k;
      const square = graph.mul(x, x);
      const sigmoid = graph.sigmoid(graph.mul(x, graph.add(graph.mul(square, scalar(cubic)), scalar(k))));
      const y = graph.mul(x, sigmoid);
      graph.customGradient(y, [x], (dy, forward) => {
        const [s, out] = [forward(sigmoid), forward(y)];
        // dz/dx = k + 3·cubic·x², and d(x·σ(z))/dx = σ + x·σ·(1 − σ)·dz/dx = σ + y·(1 − σ)·dz/dx.
        const slope = graph.add(graph.mul(forward(square), scalar(3 * cubic)), scalar(k));
        const local = graph.add(s, graph.mul(graph.mul(out, graph.sub(scalar(1), s)), slope));
        return [graph.mul(dy, local)];
      });
      return y;
    }
  }
}
