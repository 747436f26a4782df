import type { Graph, GraphNode, Value } from '../onnx/graph.js';
import { sumValues } from './reduce-to-shape.js';

/**
 * Sums the gradient contributions to one value, folding them into Gemm nodes where it can: a
 * contribution produced by a `Gemm` without a `C` input (e.g. `dy·W` of a frozen projection and
 * `dDown·A` of its LoRA adapter) takes the running sum as its `C` (`beta` 1) and becomes the sum,
 * so no `Add`/`Sum` node and no separate buffer is needed. Only contributions that nothing else
 * reads (`exclusive`, and no node or sub-graph of the graph) and whose shape and type equal the
 * sum's are folded; their node moves to the end of the node list (after the running sum's
 * producer), which keeps the list topological since nothing reads them yet.
 */
export function accumulateGradients(
  graph: Graph,
  contributions: readonly Value[],
  exclusive: (value: Value) => boolean,
): Value {
  if (contributions.length < 2) return sumValues(graph, contributions);
  const first = contributions[0] as Value;
  const foldable: GraphNode[] = [];
  const rest: Value[] = [];
  for (const value of contributions) {
    const node = foldableGemm(graph, value, first);
    if (node && exclusive(value) && !isRead(graph, value.name)) foldable.push(node);
    else rest.push(value);
  }
  if (foldable.length === 0) return sumValues(graph, contributions);
  let total =
    rest.length > 0
      ? sumValues(graph, rest)
      : graph.value((foldable.shift() as GraphNode).outputs[0] as string);
  for (const node of foldable) {
    node.inputs.push(total.name);
    graph.nodes.splice(graph.nodes.indexOf(node), 1);
    graph.nodes.push(node);
    total = graph.value(node.outputs[0] as string);
  }
  return total;
}

/** The Gemm node producing `value` when it has no `C` input and `value` matches `like`'s type and shape. */
function foldableGemm(graph: Graph, value: Value, like: Value): GraphNode | undefined {
  const node = graph.producers.get(value.name);
  if (node?.opType !== 'Gemm' || node.domain !== '' || node.inputs.length !== 2) return undefined;
  const beta = node.attributes.beta;
  if (beta !== undefined && beta !== 1) return undefined;
  if (value.dtype !== like.dtype || value.shape.length !== like.shape.length) return undefined;
  return value.shape.every((size, axis) => size === like.shape[axis]) ? node : undefined;
}

/** Whether a node of the graph (or a sub-graph, as an outer value) or a graph output reads `name`. */
function isRead(graph: Graph, name: string): boolean {
  if (graph.outputs.some((output) => output.name === name)) return true;
  return graph.nodes.some(
    (node) =>
      node.inputs.includes(name) ||
      (SUBGRAPH_OPERATORS.has(node.opType) &&
        Object.values(node.attributes).some(
          (attribute) =>
            typeof attribute === 'object' &&
            !Array.isArray(attribute) &&
            'graph' in attribute &&
            attribute.graph.outerValues.has(name),
        )),
  );
}

/** Operators whose attributes hold sub-graphs (which may read outer values). */
const SUBGRAPH_OPERATORS = new Set(['Loop', 'If', 'Scan']);
