import { type DataType, ONNX_DATA_TYPES } from './data-type.js';
import { GraphBase, shapeKey } from './graph-base.js';
import type { AttributeValue, Dimension, Value } from './graph-types.js';
import { halfPrecisionProduct } from './half-precision-operand.js';
import {
  broadcastShapes,
  clampSlice,
  graphError,
  inferredSymbolicDimension,
  product,
  reducedShape,
} from './shape-inference.js';

export { GraphBase, type GraphOptions, shapeKey } from './graph-base.js';
export {
  type AttributeValue,
  type CustomGradient,
  type Dimension,
  FLOAT_ATTRIBUTES,
  type GraphNode,
  type Initializer,
  type Value,
} from './graph-types.js';

/**
 * Builds an ONNX graph: inputs, initializers, nodes and outputs, with dtype and shape tracking and
 * readable unique node names (`<scope>/<OpType>_<n>`). Op helpers (`matmul`, `add`, `softmax` …)
 * infer their output shape; {@link GraphBase.node} adds any other operator with explicit output
 * types. The graph's structure (values, scopes, nodes, initializers) is {@link GraphBase}'s; this
 * class adds one method per operator. Nodes are kept in insertion order, which is a topological
 * order (autodiff relies on it).
 */
export class Graph extends GraphBase {
  /** Whether a matrix product of these operands runs under `GraphOptions.matrixPrecision`. */
  private mixedPrecision(operands: ReadonlyArray<Value | undefined>): boolean {
    return this.matrixPrecision !== undefined && operands.some((operand) => operand?.dtype === 'float32');
  }

  private unary(opType: string, x: Value, attributes: Record<string, AttributeValue> = {}): Value {
    return this.node(opType, [x], attributes, [{ dtype: x.dtype, shape: x.shape }])[0] as Value;
  }

  private binary(opType: string, a: Value, b: Value, dtype: DataType = a.dtype): Value {
    return this.node(opType, [a, b], {}, [{ dtype, shape: broadcastShapes(a.shape, b.shape) }])[0] as Value;
  }

  /** Elementwise `a + b` (NumPy broadcasting). */
  add(a: Value, b: Value): Value {
    return this.binary('Add', a, b);
  }
  /** Elementwise `a - b`. */
  sub(a: Value, b: Value): Value {
    return this.binary('Sub', a, b);
  }
  /** Elementwise `a * b`. */
  mul(a: Value, b: Value): Value {
    return this.binary('Mul', a, b);
  }
  /** Elementwise `a / b`. */
  div(a: Value, b: Value): Value {
    return this.binary('Div', a, b);
  }
  /** Elementwise `a ** b`. */
  pow(a: Value, b: Value): Value {
    return this.binary('Pow', a, b);
  }
  /** Elementwise `a == b` (bool). */
  equal(a: Value, b: Value): Value {
    return this.binary('Equal', a, b, 'bool');
  }
  /** Elementwise `a > b` (bool). */
  greater(a: Value, b: Value): Value {
    return this.binary('Greater', a, b, 'bool');
  }
  /** Elementwise `a < b` (bool). */
  less(a: Value, b: Value): Value {
    return this.binary('Less', a, b, 'bool');
  }
  /** Elementwise logical and. */
  and(a: Value, b: Value): Value {
    return this.binary('And', a, b, 'bool');
  }
  /** Elementwise logical not. */
  not(x: Value): Value {
    return this.unary('Not', x);
  }
  /** `-x`. */
  neg(x: Value): Value {
    return this.unary('Neg', x);
  }
  /** `sqrt(x)`. */
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  /** `1 / x`. */
  reciprocal(x: Value): Value {
    return this.unary('Reciprocal', x);
  }
  /** `exp(x)`. */
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  /** `log(x)`. */
  log(x: Value): Value {
    return this.unary('Log', x);
  }
  /** `tanh(x)`. */
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  /** `erf(x)` (no float64 kernel in onnxruntime's CPU provider). */
  erf(x: Value): Value {
    return this.unary('Erf', x);
  }
  /** `max(x, 0)`. */
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }
  /** `1 / (1 + exp(-x))`. */
  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', x);
  }
  /** Softmax over one axis. */
  softmax(x: Value, axis = -1): Value {
    return this.unary('Softmax', x, { axis });
  }
  /** Log-softmax over one axis. */
  logSoftmax(x: Value, axis = -1): Value {
    return this.unary('LogSoftmax', x, { axis });
  }

  /** Matrix product with NumPy batch broadcasting (both operands rank ≥ 2). */
  matmul(a: Value, b: Value): Value {
    if (this.mixedPrecision([a, b])) {
      return halfPrecisionProduct(this, [a, b], ([x, y]) => this.matmul(x as Value, y as Value));
    }
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw graphError('MatMul operands must have rank ≥ 2', { a: a.shape, b: b.shape });
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const shape = [
      ...batch,
      a.shape[a.shape.length - 2] as Dimension,
      b.shape[b.shape.length - 1] as Dimension,
    ];
    return this.node('MatMul', [a, b], {}, [{ dtype: a.dtype, shape }])[0] as Value;
  }

  /** `alpha·op(a)·op(b) + beta·c` on 2-D operands (`op` transposes when `transA`/`transB`). */
  gemm(
    a: Value,
    b: Value,
    c?: Value,
    options: { alpha?: number; beta?: number; transA?: boolean; transB?: boolean } = {},
  ): Value {
    if (this.mixedPrecision([a, b, c])) {
      const { beta, ...product } = options;
      return halfPrecisionProduct(
        this,
        [a, b],
        ([x, y]) => this.gemm(x as Value, y as Value, undefined, product),
        c ? { value: c, beta: beta ?? 1 } : undefined,
      );
    }
    const rows = options.transA ? a.shape[1] : a.shape[0];
    const columns = options.transB ? b.shape[0] : b.shape[1];
    const attributes: Record<string, AttributeValue> = {};
    if (options.alpha !== undefined && options.alpha !== 1) attributes.alpha = options.alpha;
    if (options.beta !== undefined && options.beta !== 1) attributes.beta = options.beta;
    if (options.transA) attributes.transA = 1;
    if (options.transB) attributes.transB = 1;
    return this.node('Gemm', c ? [a, b, c] : [a, b], attributes, [
      { dtype: a.dtype, shape: [rows as Dimension, columns as Dimension] },
    ])[0] as Value;
  }

  /** Sum over `axes` (all axes when omitted). */
  reduceSum(x: Value, axes: readonly number[] | undefined, keepDimensions = true): Value {
    const shape = reducedShape(x.shape, axes, keepDimensions);
    const inputs: Value[] = axes ? [x, this.int64s(axes)] : [x];
    const attributes: Record<string, AttributeValue> = { keepdims: keepDimensions ? 1 : 0 };
    return this.node('ReduceSum', inputs, attributes, [{ dtype: x.dtype, shape }])[0] as Value;
  }

  /** Mean over `axes` (all axes when omitted). */
  reduceMean(x: Value, axes: readonly number[] | undefined, keepDimensions = true): Value {
    const shape = reducedShape(x.shape, axes, keepDimensions);
    const attributes: Record<string, AttributeValue> = { keepdims: keepDimensions ? 1 : 0 };
    if (axes) {
      if (this.opset >= 18) {
        return this.node('ReduceMean', [x, this.int64s(axes)], attributes, [
          { dtype: x.dtype, shape },
        ])[0] as Value;
      }
      attributes.axes = [...axes];
    }
    return this.node('ReduceMean', [x], attributes, [{ dtype: x.dtype, shape }])[0] as Value;
  }

  /** Reshape; `0` copies the input dimension, `-1` is inferred. */
  reshape(x: Value, shape: readonly number[]): Value {
    return this.node('Reshape', [x, this.int64s(shape)], {}, [
      { dtype: x.dtype, shape: this.reshapedShape(x.shape, shape) },
    ])[0] as Value;
  }

  /**
   * Reshape to a shape computed at run time (e.g. `Shape(other)`). A shape computed by nodes other
   * than `Shape` (e.g. `Concat(Shape(input_ids), [heads, headSize])`, sizes, not a Reshape pattern
   * with `0`/`-1`) is recorded in `runtimeShapes` for its static shape, so gradients that reshape
   * back to it need no `Shape` node.
   */
  reshapeLike(x: Value, shape: Value, staticShape: readonly Dimension[]): Value {
    const key = shapeKey(staticShape);
    const producer = this.producers.get(shape.name);
    if (
      staticShape.some((size) => typeof size === 'string') &&
      !this.runtimeShapes.has(key) &&
      producer !== undefined &&
      producer.opType !== 'Shape'
    ) {
      this.runtimeShapes.set(key, shape);
    }
    return this.node('Reshape', [x, shape], {}, [{ dtype: x.dtype, shape: staticShape }])[0] as Value;
  }

  /** `Shape(x)` as an int64 vector. */
  shapeOf(x: Value): Value {
    return this.node('Shape', [x], {}, [{ dtype: 'int64', shape: [x.shape.length] }])[0] as Value;
  }

  private reshapedShape(input: readonly Dimension[], shape: readonly number[]): Dimension[] {
    const result: Dimension[] = shape.map((size, index) => (size === 0 ? (input[index] as Dimension) : size));
    const inferred = result.indexOf(-1);
    if (inferred >= 0) {
      const known = result.filter((_, index) => index !== inferred);
      const total = input.every((size) => typeof size === 'number') ? product(input as number[]) : undefined;
      const rest = known.every((size) => typeof size === 'number') ? product(known as number[]) : undefined;
      if (total !== undefined && rest !== undefined && rest > 0) {
        result[inferred] = total / rest;
      } else {
        result[inferred] = inferredSymbolicDimension(input, known) ?? this.unknownDimension();
      }
    }
    return result;
  }

  /** Permutes axes (reverses them without `perm`). */
  transpose(x: Value, perm?: readonly number[]): Value {
    const permutation = perm ?? x.shape.map((_, index) => x.shape.length - 1 - index);
    return this.node('Transpose', [x], { perm: [...permutation] }, [
      { dtype: x.dtype, shape: permutation.map((axis) => x.shape[axis] as Dimension) },
    ])[0] as Value;
  }

  /** Inserts size-1 axes. */
  unsqueeze(x: Value, axes: readonly number[]): Value {
    const rank = x.shape.length + axes.length;
    const normalized = axes.map((axis) => (axis < 0 ? axis + rank : axis));
    const shape: Dimension[] = [];
    let source = 0;
    for (let axis = 0; axis < rank; axis += 1) {
      shape.push(normalized.includes(axis) ? 1 : (x.shape[source++] as Dimension));
    }
    return this.node('Unsqueeze', [x, this.int64s(axes)], {}, [{ dtype: x.dtype, shape }])[0] as Value;
  }

  /** Removes size-1 axes. */
  squeeze(x: Value, axes: readonly number[]): Value {
    const normalized = axes.map((axis) => (axis < 0 ? axis + x.shape.length : axis));
    const shape = x.shape.filter((_, axis) => !normalized.includes(axis));
    return this.node('Squeeze', [x, this.int64s(axes)], {}, [{ dtype: x.dtype, shape }])[0] as Value;
  }

  /** Slices `[starts, ends)` along `axes` with optional `steps` (constant parameters). */
  slice(
    x: Value,
    starts: readonly number[],
    ends: readonly number[],
    axes?: readonly number[],
    steps?: readonly number[],
  ): Value {
    const sliceAxes = axes ?? starts.map((_, index) => index);
    const shape = [...x.shape];
    sliceAxes.forEach((rawAxis, index) => {
      const axis = rawAxis < 0 ? rawAxis + x.shape.length : rawAxis;
      const size = x.shape[axis];
      const step = steps?.[index] ?? 1;
      if (typeof size === 'number') {
        const [start, end] = clampSlice(starts[index] as number, ends[index] as number, size, step);
        shape[axis] = Math.max(0, Math.ceil((end - start) / step));
      } else {
        shape[axis] = this.unknownDimension();
      }
    });
    const inputs = [x, this.int64s(starts), this.int64s(ends), this.int64s(sliceAxes)];
    if (steps) inputs.push(this.int64s(steps));
    return this.node('Slice', inputs, {}, [{ dtype: x.dtype, shape }])[0] as Value;
  }

  /** Splits along an axis into pieces of the given sizes. */
  split(x: Value, sizes: readonly number[], axis = 0): Value[] {
    const normalized = axis < 0 ? axis + x.shape.length : axis;
    return this.node(
      'Split',
      [x, this.int64s(sizes)],
      { axis: normalized },
      sizes.map((size) => ({
        dtype: x.dtype,
        shape: x.shape.map((dimension, index) => (index === normalized ? size : dimension)),
      })),
    );
  }

  /** Concatenates along an axis. */
  concat(values: readonly Value[], axis: number): Value {
    const first = values[0] as Value;
    const normalized = axis < 0 ? axis + first.shape.length : axis;
    const sizes = values.map((value) => value.shape[normalized] as Dimension);
    const total = sizes.every((size) => typeof size === 'number')
      ? product(sizes as number[], (a, b) => a + b, 0)
      : this.unknownDimension();
    const shape = first.shape.map((dimension, index) => (index === normalized ? total : dimension));
    return this.node('Concat', values, { axis: normalized }, [{ dtype: first.dtype, shape }])[0] as Value;
  }

  /** Gathers slices of `data` along `axis` by integer `indices` (embedding lookup with axis 0). */
  gather(data: Value, indices: Value, axis = 0): Value {
    const halfSource = this.halfPrecisionInitializerViews.has(data.name)
      ? this.halfPrecisionValues.get(data.name)
      : undefined;
    if (halfSource) {
      // A frozen half-precision table: gather its rows, then cast only them to float32.
      return this.cast(this.gather(halfSource, indices, axis), data.dtype);
    }
    const normalized = axis < 0 ? axis + data.shape.length : axis;
    const shape = [...data.shape.slice(0, normalized), ...indices.shape, ...data.shape.slice(normalized + 1)];
    return this.node('Gather', [data, indices], { axis: normalized }, [
      { dtype: data.dtype, shape },
    ])[0] as Value;
  }

  /** Gathers single elements along `axis` (`indices` has the rank of `data`). */
  gatherElements(data: Value, indices: Value, axis: number): Value {
    return this.node('GatherElements', [data, indices], { axis }, [
      { dtype: data.dtype, shape: indices.shape },
    ])[0] as Value;
  }

  /** `condition ? a : b` elementwise, broadcasting all three. */
  where(condition: Value, a: Value, b: Value): Value {
    const shape = broadcastShapes(condition.shape, broadcastShapes(a.shape, b.shape));
    return this.node('Where', [condition, a, b], {}, [{ dtype: a.dtype, shape }])[0] as Value;
  }

  /** Converts the element type. */
  cast(x: Value, to: DataType): Value {
    return this.node('Cast', [x], { to: onnxTypeNumber(to) }, [{ dtype: to, shape: x.shape }])[0] as Value;
  }

  /** Broadcasts to a (constant) shape. */
  expand(x: Value, shape: readonly number[]): Value {
    return this.node('Expand', [x, this.int64s(shape)], {}, [
      { dtype: x.dtype, shape: broadcastShapes(x.shape, shape) },
    ])[0] as Value;
  }

  /** Broadcasts to the run-time shape of another value. */
  expandLike(x: Value, like: Value): Value {
    return this.node('Expand', [x, this.shapeOf(like)], {}, [
      { dtype: x.dtype, shape: broadcastShapes(x.shape, like.shape) },
    ])[0] as Value;
  }

  /**
   * Dropout in training mode: returns the output and its bool mask. A `seed` makes the sequence of
   * masks reproducible across sessions; every run draws a new mask.
   */
  dropout(x: Value, ratio: number, seed?: number): { output: Value; mask: Value } {
    const attributes: Record<string, AttributeValue> = seed === undefined ? {} : { seed };
    const [output, mask] = this.node(
      'Dropout',
      [x, this.scalar(ratio, x.dtype), this.constant([1], 'bool', [])],
      attributes,
      [
        { dtype: x.dtype, shape: x.shape },
        { dtype: 'bool', shape: x.shape },
      ],
    );
    return { output: output as Value, mask: mask as Value };
  }

  /** Layer normalization over the last axis; also returns its saved mean and inverse deviation. */
  layerNormalization(x: Value, scale: Value, bias: Value, epsilon: number): Value {
    const statsShape = [...x.shape.slice(0, -1), 1];
    const [output] = this.node(
      'LayerNormalization',
      [x, scale, bias],
      { axis: -1, epsilon: { float: epsilon } },
      [
        { dtype: x.dtype, shape: x.shape },
        { dtype: x.dtype === 'float64' ? 'float32' : x.dtype, shape: statsShape },
        { dtype: x.dtype === 'float64' ? 'float32' : x.dtype, shape: statsShape },
      ],
    );
    return output as Value;
  }

  /**
   * Softmax cross-entropy of `scores` `[N, C]` against int64 `labels` `[N]`, mean over labels that are
   * not `ignoreIndex` (or `sum`). Returns the scalar loss.
   */
  softmaxCrossEntropyLoss(
    scores: Value,
    labels: Value,
    options: { ignoreIndex?: number; reduction?: 'mean' | 'sum' } = {},
  ): Value {
    const attributes: Record<string, AttributeValue> = { reduction: options.reduction ?? 'mean' };
    if (options.ignoreIndex !== undefined) attributes.ignore_index = options.ignoreIndex;
    const [loss] = this.node('SoftmaxCrossEntropyLoss', [scores, labels], attributes, [
      { dtype: scores.dtype, shape: [] },
      { dtype: scores.dtype, shape: scores.shape },
    ]);
    return loss as Value;
  }

  /** A tensor of a run-time shape filled with one value. */
  constantOfShape(shape: Value, value: number, dtype: DataType, staticShape: readonly Dimension[]): Value {
    return this.node('ConstantOfShape', [shape], { value: { tensor: value, dtype } }, [
      { dtype, shape: staticShape },
    ])[0] as Value;
  }

  /** Zeros shaped like `x` (static shapes give a constant-shape node, symbolic ones use `Shape`). */
  zerosLike(x: Value): Value {
    const shape = x.shape.every((size) => typeof size === 'number')
      ? this.int64s(x.shape as number[])
      : this.shapeOf(x);
    return this.constantOfShape(shape, 0, x.dtype, x.shape);
  }
}

/** ONNX type number of a data type (from {@link ONNX_DATA_TYPES}). */
export function onnxTypeNumber(dtype: DataType): number {
  return ONNX_DATA_TYPES[dtype];
}
