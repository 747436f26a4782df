import type { AttributeValue, Graph, GraphNode, Value } from '../onnx/graph.js';

/**
 * What a gradient rule sees: the forward node, its input and output values, the gradients flowing into
 * its outputs (undefined where an output does not reach the loss) and which inputs need a gradient.
 */
export interface GradientContext {
  graph: Graph;
  node: GraphNode;
  /** Input values (undefined for omitted optional inputs). */
  inputs: Array<Value | undefined>;
  outputs: Value[];
  outputGradients: Array<Value | undefined>;
  /** Whether input `index` needs a gradient (rules may skip the others). */
  needsGradient(index: number): boolean;
  /** A node attribute, or `fallback` when absent. */
  attribute(name: string, fallback: number): number;
  attribute(name: string, fallback: string): string;
  attribute(name: string, fallback: number[]): number[];
  attribute(name: string, fallback: AttributeValue): AttributeValue;
}

/**
 * A gradient rule: given d(loss)/d(outputs), returns d(loss)/d(inputs) in input order (undefined for
 * inputs without a gradient), built from standard ONNX operators with the context's graph.
 */
export type GradientRule = (context: GradientContext) => Array<Value | undefined>;

/** Gradient rules by ONNX operator type. */
export type GradientRuleTable = Readonly<Record<string, GradientRule>>;
