import type { Graph, Value } from './graph.js';

/** The half-precision types matrix products can compute in (see `GraphOptions.matrixPrecision`). */
export type HalfPrecision = 'float16' | 'bfloat16';

/**
 * `x` in the graph's matrix precision, cast once per value: a float32 value gets one `Cast` node the
 * first time it is asked for and the same half-precision value afterwards (so `q`, `k` and `v`
 * projections of one normalized input share one cast, and a weight is cast once per step). A
 * float32 view of a half-precision initializer (a frozen weight stored in half precision, see
 * {@link registerHalfPrecisionView}) resolves to the initializer itself, without a cast. Values
 * already in half precision are returned as they are.
 */
export function halfPrecisionOperand(graph: Graph, x: Value): Value {
  const precision = graph.matrixPrecision;
  if (!precision || x.dtype === precision) return x;
  const cached = graph.halfPrecisionValues.get(x.name);
  if (cached) return cached;
  const cast = graph.cast(x, precision);
  graph.halfPrecisionValues.set(x.name, cast);
  return cast;
}

/**
 * Records that the float32 value `view` is `Cast(source)` of a half-precision initializer, so that
 * matrix products and `Gather` read `source` directly ({@link halfPrecisionOperand},
 * {@link Graph.gather}) and the view's cast node, unused, is dropped when the graph is serialized.
 */
export function registerHalfPrecisionView(graph: Graph, view: Value, source: Value): void {
  graph.halfPrecisionValues.set(view.name, source);
  graph.halfPrecisionInitializerViews.add(view.name);
}

/**
 * A matrix product under mixed precision (`Graph.gemm`/`Graph.matmul` call it when the graph has a
 * `matrixPrecision` and an operand is float32): the operands are cast to half precision
 * ({@link halfPrecisionOperand}), the product runs in half precision and its result is cast back to
 * float32, as PyTorch's autocast runs `linear`/`matmul` in float16 and the float32 master weights
 * keep float32 gradients (the `Cast` gradient rule casts them back). Everything between matrix
 * products (norms and their statistics, softmax, the loss, residual sums, biases) stays float32. A
 * Gemm bias is added after the cast, in float32, so that its gradient is summed in float32.
 */
export function halfPrecisionProduct(
  graph: Graph,
  operands: readonly Value[],
  product: (halfOperands: Value[]) => Value,
  bias?: { value: Value; beta: number },
): Value {
  const result = graph.cast(
    product(operands.map((operand) => halfPrecisionOperand(graph, operand))),
    'float32',
  );
  if (!bias) return result;
  const term = bias.value.dtype === 'float32' ? bias.value : graph.cast(bias.value, 'float32');
  return graph.add(result, bias.beta === 1 ? term : graph.mul(term, graph.scalar(bias.beta, 'float32')));
}
