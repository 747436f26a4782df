import { tunekitError } from '@tunekit/core';
import { isFloatingType } from '../onnx/data-type.js';
import type { AttributeValue, Graph, GraphNode, Value } from '../onnx/graph.js';
import { accumulateGradients } from './accumulate-gradients.js';
import type { GradientContext, GradientRuleTable } from './gradient-rule.js';
import { GRADIENT_RULES } from './gradient-rules.js';

/** Options of {@link addGradients}. */
export interface AddGradientsOptions {
  /** The scalar to differentiate (any shape when `seed` is given; omit it when giving `seeds`). */
  loss?: Value;
  /**
   * Gradient of the final objective with respect to `loss` (default: 1 for a scalar loss). Lets a
   * caller supply a hand-fused gradient for a sub-graph (e.g. d(cross-entropy)/d(logits)) and start
   * reverse mode from there: a vector-Jacobian product.
   */
  seed?: Value;
  /**
   * Several starting points instead of `loss`: reverse mode starts from every `value` with its given
   * `gradient` (contributions to the same value are summed). Used to fuse a loss head by hand, e.g.
   * d(loss)/d(hidden) and the LM head's share of d(loss)/d(embedding) without materializing the
   * scaled logits gradient.
   */
  seeds?: ReadonlyArray<{ value: Value; gradient: Value }>;
  /** Values (graph inputs or initializers) to differentiate with respect to. */
  wrt: readonly Value[];
  /** Rule table (default {@link GRADIENT_RULES}); extend it to support more operators. */
  rules?: GradientRuleTable;
  /**
   * Gradient checkpointing (default false): the backward pass of each recompute segment
   * ({@link Graph.recomputeSegment}, e.g. a transformer layer) reads a copy of the segment's forward
   * values recomputed from its inputs, built only once the gradient reaches the segment, instead of
   * the forward pass's values, which onnxruntime can then free as soon as the forward pass is done
   * with them. The gradients are the same; the price is one more forward pass through the segments.
   */
  recompute?: boolean;
}

/**
 * Appends reverse-mode gradient nodes for d(loss)/d(wrt) to the graph and returns the gradient value
 * of each `wrt` name. Only nodes on a path from a `wrt` value to the loss are differentiated: frozen
 * weights and branches that do not reach the loss get no gradient nodes. A `wrt` value that does not
 * reach the loss gets zeros.
 */
export function addGradients(graph: Graph, options: AddGradientsOptions): Map<string, Value> {
  const rules = options.rules ?? GRADIENT_RULES;
  const forwardNodes = [...graph.nodes];
  // Values that depend on a wrt value (forward reachability through floating-point values).
  const dependsOnWrt = new Set(options.wrt.map((value) => value.name));
  for (const node of forwardNodes) {
    if (!node.inputs.some((input) => dependsOnWrt.has(input))) continue;
    for (const output of node.outputs) {
      if (isFloatingType(graph.value(output).dtype)) dependsOnWrt.add(output);
    }
  }
  const seeds = resolveSeeds(graph, options);
  // Values whose gradient is needed: depend on a wrt value and reach the loss (backward reachability).
  const needed = new Set<string>(seeds.map((seed) => seed.value.name));
  const relevantNodes: GraphNode[] = [];
  for (let index = forwardNodes.length - 1; index >= 0; index -= 1) {
    const node = forwardNodes[index] as GraphNode;
    if (!node.outputs.some((output) => needed.has(output) && dependsOnWrt.has(output))) continue;
    relevantNodes.push(node);
    for (const input of node.inputs) if (dependsOnWrt.has(input)) needed.add(input);
  }
  // Gradient nodes only ever fold sums into gradient Gemms built here (see accumulateGradients).
  const forwardValues = new Set(forwardNodes.flatMap((node) => node.outputs));
  const contributions = new Map<string, Value[]>();
  // How many times each value was contributed (to any value): a value given twice must not be folded.
  const contributed = new Map<string, number>();
  const contribute = (name: string, gradient: Value) => {
    const list = contributions.get(name) ?? [];
    list.push(gradient);
    contributions.set(name, list);
    contributed.set(gradient.name, (contributed.get(gradient.name) ?? 0) + 1);
  };
  const gradientOf = (name: string): Value | undefined => {
    const list = contributions.get(name);
    if (!list || list.length === 0) return undefined;
    const total = accumulateGradients(
      graph,
      list,
      (value) => contributed.get(value.name) === 1 && !forwardValues.has(value.name),
    );
    contributions.set(name, [total]);
    contributed.set(total.name, (contributed.get(total.name) ?? 0) + 1);
    return total;
  };
  for (const seed of seeds) contribute(seed.value.name, seed.gradient);
  const recomputed = options.recompute ? createRecomputation(graph, forwardNodes) : undefined;
  for (const node of relevantNodes) {
    const outputGradients = node.outputs.map((output) => gradientOf(output));
    if (outputGradients.every((gradient) => gradient === undefined)) continue;
    // The forward values this node's gradient reads: recomputed copies inside a checkpointed segment.
    const forwardValue =
      recomputed?.forNode(node, outputGradients.find((gradient) => gradient !== undefined) as Value) ??
      ((name: string) => graph.value(name));
    const custom =
      node.outputs.length === 1 ? graph.customGradients.get(node.outputs[0] as string) : undefined;
    if (custom) {
      const inputGradients = graph.scope(`grad/${node.name}`, () =>
        custom.gradient(outputGradients[0] as Value, (value) => forwardValue(value.name)),
      );
      custom.inputs.forEach((input, index) => {
        const gradient = inputGradients[index];
        if (gradient && needed.has(input.name)) contribute(input.name, gradient);
      });
      continue;
    }
    const rule = rules[node.opType];
    if (!rule) {
      throw tunekitError(
        'AUTODIFF_UNSUPPORTED',
        `No gradient rule for operator ${node.opType} (node "${node.name}")`,
        { node: node.name, opType: node.opType },
      );
    }
    const context: GradientContext = {
      graph,
      node,
      inputs: node.inputs.map((input) => (input === '' ? undefined : forwardValue(input))),
      outputs: node.outputs.map((output) => forwardValue(output)),
      outputGradients,
      needsGradient: (index) => {
        const input = node.inputs[index];
        return input !== undefined && input !== '' && needed.has(input);
      },
      attribute: ((name: string, fallback: AttributeValue) =>
        node.attributes[name] ?? fallback) as GradientContext['attribute'],
    };
    const inputGradients = graph.scope(`grad/${node.name}`, () => rule(context));
    node.inputs.forEach((input, index) => {
      const gradient = inputGradients[index];
      if (gradient && context.needsGradient(index)) contribute(input, gradient);
    });
  }
  const result = new Map<string, Value>();
  for (const value of options.wrt) {
    result.set(value.name, gradientOf(value.name) ?? graph.zerosLike(value));
  }
  return result;
}

/**
 * Gradient checkpointing: for each recompute segment, on the first backward node that reaches it, a
 * copy of the segment's forward nodes. Its inputs produced outside the segment (float values computed
 * by other nodes: the layer's input hidden states, rotary tables, the attention mask bias) enter
 * through `x + 0·g[0]`, where `g` is the gradient arriving at the segment: an ordering dependency
 * (onnxruntime cannot run the copy before the backward pass gets there, nor merge it with the
 * original as a common sub-expression) that costs one element-wise pass over those inputs. Nodes of
 * the segment that depend on none of them (weight-only work) are not copied.
 */
function createRecomputation(graph: Graph, forwardNodes: readonly GraphNode[]) {
  const segments = new Map<string, GraphNode[]>();
  for (const node of forwardNodes) {
    const segment = graph.nodeSegments.get(node.name);
    if (segment === undefined) continue;
    const list = segments.get(segment) ?? [];
    list.push(node);
    segments.set(segment, list);
  }
  const copies = new Map<string, Map<string, Value>>();

  const recompute = (segment: string, nodes: readonly GraphNode[], arriving: Value): Map<string, Value> =>
    graph.scope(`recompute/${segment}`, () => {
      const produced = new Set(nodes.flatMap((node) => node.outputs));
      const flat = graph.reshape(arriving, [-1]);
      // g[0]·0: a one-element tensor that exists only once the gradient does.
      const gate = graph.mul(
        graph.node('Slice', [flat, graph.int64s([0]), graph.int64s([1])], {}, [
          { dtype: arriving.dtype, shape: [1] },
        ])[0] as Value,
        graph.scalar(0, arriving.dtype),
      );
      const copy = new Map<string, Value>();
      const entry = (name: string): Value | undefined => {
        if (name === '' || produced.has(name)) return copy.get(name);
        const value = graph.value(name);
        if (!graph.producers.has(name) || !isFloatingType(value.dtype)) return undefined;
        let gated = copy.get(name);
        if (gated === undefined) {
          const typedGate = value.dtype === arriving.dtype ? gate : graph.cast(gate, value.dtype);
          gated = graph.add(value, typedGate);
          copy.set(name, gated);
        }
        return gated;
      };
      for (const node of nodes) {
        const inputs = node.inputs.map((name) => entry(name));
        if (inputs.every((input) => input === undefined)) continue;
        const outputs = graph.node(
          node.opType,
          node.inputs.map((name, index) => (name === '' ? '' : (inputs[index] ?? graph.value(name)))),
          node.attributes,
          node.outputs.map((name) => graph.value(name)),
          { domain: node.domain },
        );
        node.outputs.forEach((name, index) => {
          copy.set(name, outputs[index] as Value);
        });
      }
      return copy;
    });

  return {
    /** How `node`'s gradient reads forward values (undefined: outside every segment, the originals). */
    forNode(node: GraphNode, arriving: Value): ((name: string) => Value) | undefined {
      const segment = graph.nodeSegments.get(node.name);
      if (segment === undefined) return undefined;
      let copy = copies.get(segment);
      if (copy === undefined) {
        copy = recompute(segment, segments.get(segment) ?? [], arriving);
        copies.set(segment, copy);
      }
      const values = copy;
      return (name) => values.get(name) ?? graph.value(name);
    },
  };
}

function resolveSeeds(graph: Graph, options: AddGradientsOptions): Array<{ value: Value; gradient: Value }> {
  if (options.seeds) return [...options.seeds];
  const loss = options.loss;
  if (!loss || (!options.seed && loss.shape.some((size) => size !== 1))) {
    throw tunekitError(
      'AUTODIFF_UNSUPPORTED',
      loss ? `The loss "${loss.name}" must be a scalar` : 'addGradients needs a loss or seeds',
      { shape: loss?.shape },
    );
  }
  const gradient =
    options.seed ??
    graph.constant([1], loss.dtype === 'float64' ? 'float64' : 'float32', loss.shape as number[]);
  return [{ value: loss, gradient }];
}
