import type { Graph, Value } from '../onnx/graph.js';
import type { Int4BlockValues, QuantizedLinearValues } from './declare-quantized-linears.js';

/** The `com.microsoft` operator domain of onnxruntime's contrib operators. */
export const MICROSOFT_DOMAIN = 'com.microsoft';

/**
 * `x·dequant(B)ᵀ` with onnxruntime's contrib operator `com.microsoft:MatMulNBits` (4 bits, zero
 * point 8, CPU and CUDA kernels): `x` `[rows, matrix.columns]` → `[rows, matrix.rows]`.
 */
export function matMulNBits(graph: Graph, x: Value, matrix: Int4BlockValues): Value {
  return graph.node(
    'MatMulNBits',
    [x, matrix.data, matrix.scales],
    { K: matrix.columns, N: matrix.rows, bits: 4, block_size: matrix.blockSize },
    [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), matrix.rows] }],
    { domain: MICROSOFT_DOMAIN },
  )[0] as Value;
}

/**
 * The float32 matrix `[rows, columns]` of an int4 block matrix, computed in the graph with standard
 * operators: nibbles by uint8 `Div`/`Mul`/`Sub` (high = `b / 16`, low = `b − 16·high`; the CUDA provider has
 * no `BitShift` kernel), interleaved by
 * Concat, then `(code − 8)·scale` by one per-axis `DequantizeLinear` (a scale and zero point 8 per
 * block), the values `MatMulNBits` multiplies by. `dependency` is any
 * run-time float tensor (its first element is read): the divisor and the scales pass through
 * `+ 0` values derived from it (`Less(v, v)` is false even for NaN), so onnxruntime's constant
 * folding cannot turn the dequantization into a float32 initializer (which would undo the memory
 * savings); the matrix exists only while the backward pass uses it.
 */
export function dequantizeInt4BlockValues(graph: Graph, matrix: Int4BlockValues, dependency: Value): Value {
  const { rows, columns, blockSize } = matrix;
  const blocks = columns / blockSize;
  const first = graph.slice(graph.reshape(dependency, [-1]), [0], [1], [0]);
  const never = graph.node('Less', [first, first], {}, [{ dtype: 'bool', shape: [1] }])[0] as Value;
  // Nibbles with uint8 arithmetic (onnxruntime's CUDA provider has no BitShift kernel):
  // high = byte / 16, low = byte − 16·high.
  const sixteen = graph.add(graph.constant([16], 'uint8', [1]), graph.cast(never, 'uint8'));
  const high = graph.div(matrix.data, sixteen);
  const low = graph.sub(matrix.data, graph.mul(high, sixteen));
  const codes = graph.reshape(graph.concat([graph.unsqueeze(low, [3]), graph.unsqueeze(high, [3])], 3), [
    rows * blocks,
    blockSize,
  ]);
  // One scale and zero point 8 per row of `codes` (a block): per-axis DequantizeLinear, (code − 8)·scale.
  const scales = graph.reshape(graph.add(matrix.scales, graph.cast(never, 'float32')), [rows * blocks]);
  const zeroPoints = graph.constant(new Uint8Array(rows * blocks).fill(8), 'uint8', [rows * blocks]);
  const dequantized = graph.node('DequantizeLinear', [codes, scales, zeroPoints], { axis: 0 }, [
    { dtype: 'float32', shape: [rows * blocks, blockSize] },
  ])[0] as Value;
  return graph.reshape(dequantized, [rows, columns]);
}

/**
 * A frozen quantized linear layer `y = x·Wᵀ (+ bias)` on 2-D `x` `[rows, in]`: the forward pass is
 * one `MatMulNBits`. d(loss)/d(x) = dy·W is, by default, the `MatMulNBits` gradient rule
 * (`autodiff/rules/quantization-rules.ts`): `Gemm(dy, dequant(W))` with the same codes and scales
 * ({@link dequantizeInt4BlockValues}, exact consistency). When the layer carries a transposed copy it
 * is a hand-written gradient (`Graph.customGradient`) `MatMulNBits(dy, Wᵀ)` instead (faster, no
 * float matrix, but `Wᵀ` was rounded a second time). The weight itself gets no gradient (frozen).
 */
export function buildQuantizedLinear(
  graph: Graph,
  x: Value,
  linear: QuantizedLinearValues,
  bias?: Value,
): Value {
  const product = matMulNBits(graph, x, linear.weight);
  const { transposed } = linear;
  if (transposed) graph.customGradient(product, [x], (dy) => [matMulNBits(graph, dy, transposed())]);
  return bias ? graph.add(product, bias) : product;
}
