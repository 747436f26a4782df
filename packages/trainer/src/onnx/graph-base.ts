import type { FloatTensor } from '../safetensors/tensor-map.js';
import type { DataType } from './data-type.js';
import type {
  AttributeValue,
  CustomGradient,
  Dimension,
  GraphNode,
  Initializer,
  Value,
} from './graph-types.js';
import type { HalfPrecision } from './half-precision-operand.js';
import { graphError, product } from './shape-inference.js';
import { type TensorData, tensorDataToNumbers, toTensorData } from './tensor-data.js';

/** Options of {@link GraphBase} (and so of {@link Graph}). */
export interface GraphOptions {
  name?: string;
  /** Default opset of the `ai.onnx` domain (17). */
  opset?: number;
  /**
   * Mixed precision: `Graph.gemm` and `Graph.matmul` with a float32 operand cast their operands to
   * this type, multiply in it and cast the product back to float32 (see `halfPrecisionProduct`);
   * everything else stays float32. Default: none (every op in the type of its inputs).
   */
  matrixPrecision?: HalfPrecision;
}

/**
 * The structure of an ONNX graph, without operator helpers: inputs, initializers and constants,
 * nodes and outputs, value lookup, readable unique node names (`<scope>/<OpType>_<n>`), recompute
 * segments and hand-written gradients. {@link Graph} adds the operator helpers (`matmul`, `add`,
 * `softmax` …) on top; build graphs with {@link Graph}. Nodes are kept in insertion order, which is a
 * topological order (autodiff relies on it).
 */
export class GraphBase {
  readonly name: string;
  readonly opset: number;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, Initializer>();
  readonly values = new Map<string, Value>();
  /** Node that produces each value (inputs and initializers have none). */
  readonly producers = new Map<string, GraphNode>();
  /** Hand-written gradients of composite sub-graphs, by output value name (see {@link GraphBase.customGradient}). */
  readonly customGradients = new Map<string, CustomGradient>();
  /** Values of an enclosing graph that this sub-graph reads (see {@link GraphBase.outerValue}). */
  readonly outerValues = new Set<string>();
  /** Recompute segment of each node built inside {@link GraphBase.recomputeSegment}, by node name. */
  readonly nodeSegments = new Map<string, string>();
  /** See {@link GraphOptions.matrixPrecision}. */
  readonly matrixPrecision: HalfPrecision | undefined;
  /** Half-precision value of float32 values, by float32 name (see `halfPrecisionOperand`). */
  readonly halfPrecisionValues = new Map<string, Value>();
  /** Float32 values that are casts of half-precision initializers (see `registerHalfPrecisionView`). */
  readonly halfPrecisionInitializerViews = new Set<string>();
  /**
   * Run-time shape values (int64 vectors computed from the inputs, e.g. `[batch, sequence, heads,
   * headSize]`) by the static shape they describe (`shapeKey`), as `Graph.reshapeLike` records
   * them: a gradient that must reshape back to such a shape reuses the value instead of adding a
   * `Shape` node.
   */
  readonly runtimeShapes = new Map<string, Value>();
  private readonly scopes: string[] = [];
  private readonly segments: string[] = [];
  private counter = 0;
  private symbolCounter = 0;

  constructor(options: GraphOptions = {}) {
    this.name = options.name ?? 'tunekit';
    this.opset = options.opset ?? 17;
    this.matrixPrecision = options.matrixPrecision;
  }

  /**
   * Declares a hand-written vector-Jacobian product for the sub-graph from `inputs` to `output`:
   * reverse mode (`addGradients`) calls `gradient(dOutput)` for the node producing `output`, instead
   * of that node's operator rule, and adds the returned gradients to `inputs` (in order). Nodes inside
   * the sub-graph then receive no gradient and emit no backward nodes, so a composite such as
   * `x·sigmoid(x)` costs one fused expression backward instead of one per forward operator. Values
   * inside the sub-graph used elsewhere still get their own gradients through those other uses.
   */
  customGradient(
    output: Value,
    inputs: readonly Value[],
    gradient: (outputGradient: Value, forward: (value: Value) => Value) => Value[],
  ): void {
    if (!this.producers.has(output.name)) {
      throw graphError(`customGradient: ${output.name} is not produced by a node`, { output: output.name });
    }
    this.customGradients.set(output.name, { inputs: [...inputs], gradient });
  }

  /** Runs `build` with node names prefixed by `scope` (nested scopes join with `/`). */
  scope<T>(scope: string, build: () => T): T {
    this.scopes.push(scope);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * Runs `build` in `scope` (as {@link GraphBase.scope}) and marks its nodes as one recompute segment:
   * with gradient checkpointing (`addGradients({ recompute: true })`) the backward pass recomputes
   * the segment's activations from its inputs instead of keeping them alive from the forward pass.
   * Transformer layers are segments. Nested segments: the innermost wins.
   */
  recomputeSegment<T>(scope: string, build: () => T): T {
    return this.scope(scope, () => {
      this.segments.push(this.scopes.join('/'));
      try {
        return build();
      } finally {
        this.segments.pop();
      }
    });
  }

  /** A fresh unique name under the current scope. */
  uniqueName(base: string): string {
    this.counter += 1;
    const prefix = this.scopes.length > 0 ? `${this.scopes.join('/')}/` : '';
    return `${prefix}${base}_${this.counter}`;
  }

  /** A fresh symbolic dimension for sizes the builder cannot infer. */
  unknownDimension(): string {
    this.symbolCounter += 1;
    return `unknown_${this.symbolCounter}`;
  }

  private register(value: Value): Value {
    if (this.values.has(value.name)) {
      throw graphError(`Value "${value.name}" is defined twice`, { name: value.name });
    }
    this.values.set(value.name, value);
    return value;
  }

  /** Declares a graph input. */
  input(name: string, dtype: DataType, shape: readonly Dimension[]): Value {
    const value = this.register({ name, dtype, shape: [...shape] });
    this.inputs.push(value);
    return value;
  }

  /**
   * Makes a value of the enclosing graph usable in this sub-graph (a `Loop` body): ONNX sub-graphs
   * read outer-scope values by name, without copying them. Returns the same value.
   */
  outerValue(value: Value): Value {
    if (this.values.get(value.name) !== value) {
      this.register(value);
      this.outerValues.add(value.name);
    }
    return value;
  }

  /**
   * Adds an initializer (a stored weight); the array is referenced, not copied, until serialization.
   * Given a float32 tensor instead of an array, the initializer reads the tensor's `data` and `file`
   * when asked: a lazily loaded tensor stays unread and serialization can reference its file region.
   */
  initializer(
    name: string,
    dtype: DataType,
    shape: readonly number[],
    data: TensorData | FloatTensor,
  ): Value {
    const length = ArrayBuffer.isView(data) ? data.length : product(data.shape);
    if (length !== product(shape) || (!ArrayBuffer.isView(data) && dtype !== 'float32')) {
      throw graphError(`Initializer "${name}" has ${length} ${dtype} values for shape [${shape}]`, {
        name,
        shape,
      });
    }
    const tensor = data;
    const value: Initializer = ArrayBuffer.isView(tensor)
      ? { name, dtype, shape: [...shape], data: tensor }
      : {
          name,
          dtype,
          shape: [...shape],
          get data() {
            return tensor.data;
          },
          get file() {
            return tensor.file;
          },
        };
    this.register(value);
    this.initializers.set(name, value);
    return value;
  }

  /** A small constant (an initializer with a generated name). */
  constant(values: ArrayLike<number> | TensorData, dtype: DataType, shape: readonly number[]): Value {
    const data = ArrayBuffer.isView(values) ? (values as TensorData) : toTensorData(values, dtype);
    return this.initializer(this.uniqueName('const'), dtype, shape, data);
  }

  /** A scalar constant of a data type. */
  scalar(value: number, dtype: DataType): Value {
    return this.constant([value], dtype, []);
  }

  /** A 1-D int64 constant (shapes, axes, starts …). */
  int64s(values: readonly number[]): Value {
    return this.constant(values, 'int64', [values.length]);
  }

  /** Constant values of a value, when it is an initializer (`undefined` otherwise). */
  constantValues(value: Value | string): number[] | undefined {
    const initializer = this.initializers.get(typeof value === 'string' ? value : value.name);
    return initializer ? tensorDataToNumbers(initializer.data, initializer.dtype) : undefined;
  }

  /** Marks a value as a graph output, optionally renaming it with an Identity node. */
  output(value: Value, name?: string): Value {
    const result = name && name !== value.name ? this.identity(value, name) : value;
    this.outputs.push(result);
    return result;
  }

  /** Looks up a value by name. */
  value(name: string): Value {
    const value = this.values.get(name);
    if (!value) {
      throw graphError(`Unknown value "${name}"`, { name });
    }
    return value;
  }

  /**
   * Adds a node with explicit output types. Empty-string inputs stand for omitted optional inputs.
   * Output names default to `<nodeName>:<i>`; pass `outputNames` to choose them.
   */
  node(
    opType: string,
    inputs: ReadonlyArray<Value | ''>,
    attributes: Record<string, AttributeValue>,
    outputTypes: ReadonlyArray<{ dtype: DataType; shape: readonly Dimension[] }>,
    options: { domain?: string; outputNames?: string[] } = {},
  ): Value[] {
    const name = this.uniqueName(opType);
    const outputs = outputTypes.map((type, index) =>
      this.register({
        name: options.outputNames?.[index] ?? `${name}:${index}`,
        dtype: type.dtype,
        shape: [...type.shape],
      }),
    );
    const node: GraphNode = {
      name,
      opType,
      domain: options.domain ?? '',
      inputs: inputs.map((input) => (input === '' ? '' : input.name)),
      outputs: outputs.map((output) => output.name),
      attributes,
    };
    this.nodes.push(node);
    for (const output of outputs) this.producers.set(output.name, node);
    const segment = this.segments[this.segments.length - 1];
    if (segment !== undefined) this.nodeSegments.set(name, segment);
    return outputs;
  }

  /** Identity, optionally under a chosen output name. */
  identity(x: Value, name?: string): Value {
    return this.node('Identity', [x], {}, [{ dtype: x.dtype, shape: x.shape }], {
      outputNames: name ? [name] : undefined,
    })[0] as Value;
  }
}

/** The key of a static shape in {@link GraphBase.runtimeShapes}. */
export function shapeKey(shape: readonly Dimension[]): string {
  return shape.map(String).join(',');
}
