import type { Graph, Value } from '../onnx/graph.js';
import type { Int4BlockMatrix } from './quantize-int4-blocks.js';
import type { QuantizedLinearWeight } from './quantize-linear-weights.js';

/** An int4 block matrix as graph initializers in `MatMulNBits`' layout. */
export interface Int4BlockValues {
  /** uint8 `[rows, columns / blockSize, blockSize / 2]`. */
  data: Value;
  /** float32 `[rows, columns / blockSize]`. */
  scales: Value;
  rows: number;
  columns: number;
  blockSize: number;
}

/** A quantized frozen linear layer in a graph, as `buildQuantizedLinear` takes it. */
export interface QuantizedLinearValues {
  modulePath: string;
  inFeatures: number;
  outFeatures: number;
  /** `W` `[out, in]`. */
  weight: Int4BlockValues;
  /**
   * `Wᵀ` `[in, out]` (backward `transposed-copy` only), declared on first call: only layers whose
   * input needs a gradient store the copy (not, e.g., the first layer's q/k/v projections).
   */
  transposed?: () => Int4BlockValues;
}

/** Declares an {@link Int4BlockMatrix} as the two initializers `<name>.int4` and `<name>.scales`. */
export function declareInt4BlockMatrix(graph: Graph, name: string, matrix: Int4BlockMatrix): Int4BlockValues {
  const blocks = matrix.columns / matrix.blockSize;
  return {
    data: graph.initializer(
      `${name}.int4`,
      'uint8',
      [matrix.rows, blocks, matrix.blockSize / 2],
      matrix.data,
    ),
    scales: graph.initializer(`${name}.scales`, 'float32', [matrix.rows, blocks], matrix.scales),
    rows: matrix.rows,
    columns: matrix.columns,
    blockSize: matrix.blockSize,
  };
}

/**
 * Declares quantized linear layers as initializers (`<module>.weight.int4` and
 * `<module>.weight.scales`; a transposed copy `<module>.weight_transposed.*` when the backward pass
 * asks for it) and returns their values by module path.
 */
export function declareQuantizedLinears(
  graph: Graph,
  linears: ReadonlyMap<string, QuantizedLinearWeight>,
): Map<string, QuantizedLinearValues> {
  const values = new Map<string, QuantizedLinearValues>();
  for (const [modulePath, linear] of linears) {
    const { transposed } = linear;
    let transposedValues: Int4BlockValues | undefined;
    values.set(modulePath, {
      modulePath,
      inFeatures: linear.inFeatures,
      outFeatures: linear.outFeatures,
      weight: declareInt4BlockMatrix(graph, `${modulePath}.weight`, linear.weight),
      transposed: transposed
        ? () => {
            transposedValues ??= declareInt4BlockMatrix(graph, `${modulePath}.weight_transposed`, transposed);
            return transposedValues;
          }
        : undefined,
    });
  }
  return values;
}
