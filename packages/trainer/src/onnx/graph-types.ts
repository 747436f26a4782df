import type { TensorFileRegion } from '../safetensors/tensor-map.js';
import type { DataType } from './data-type.js';
import type { Graph } from './graph.js';
import type { TensorData } from './tensor-data.js';

/** A dimension: a size, or a symbol (`batch`, `sequence`) for sizes known only at run time. */
export type Dimension = number | string;

/** A named tensor in the graph with its element type and (possibly symbolic) shape. */
export interface Value {
  readonly name: string;
  readonly dtype: DataType;
  readonly shape: readonly Dimension[];
}

/** Attribute values; numbers are ints unless the attribute is in {@link FLOAT_ATTRIBUTES}. */
export type AttributeValue =
  | number
  | string
  | number[]
  | { floats: number[] }
  | { float: number }
  | { tensor: number; dtype: DataType }
  | { graph: Graph };

/** A node in builder form (names, not protobuf). */
export interface GraphNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

/** An initializer: a named constant tensor stored in the model (or its external data). */
export interface Initializer extends Value {
  data: TensorData;
  /**
   * Where the (float32) values already lie in a file, for an initializer made from a lazily loaded
   * tensor whose values were not read: serialization may reference the region instead of copying.
   */
  readonly file?: TensorFileRegion;
}

/** A hand-written gradient of a composite sub-graph, as {@link Graph.customGradient} records it. */
export interface CustomGradient {
  /** The sub-graph's inputs that receive gradients. */
  inputs: Value[];
  /**
   * d(objective)/d(each input) from d(objective)/d(output). Forward values the gradient reads must
   * go through `forward`: with gradient checkpointing it returns their recomputed copy (so the
   * forward pass's one can be freed), otherwise the value itself.
   */
  gradient: (outputGradient: Value, forward: (value: Value) => Value) => Value[];
}

/** Attribute names whose numeric values are floats, not ints. */
export const FLOAT_ATTRIBUTES: ReadonlySet<string> = new Set(['alpha', 'beta', 'epsilon', 'ratio', 'gamma']);
