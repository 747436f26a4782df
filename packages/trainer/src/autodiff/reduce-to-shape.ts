import type { Graph, Value } from '../onnx/graph.js';

/**
 * Sums a broadcast gradient back to the shape of the operand it flows to: leading axes the operand
 * lacks and axes where the operand has size 1 are summed. Returns `gradient` itself when nothing
 * was broadcast.
 */
export function reduceToShape(graph: Graph, gradient: Value, target: Value): Value {
  const leading = gradient.shape.length - target.shape.length;
  const axes: number[] = [];
  for (let axis = 0; axis < leading; axis += 1) axes.push(axis);
  target.shape.forEach((size, axis) => {
    const source = gradient.shape[axis + leading];
    if (size === 1 && source !== 1) axes.push(axis + leading);
  });
  if (axes.length === 0) return gradient;
  const summed = graph.reduceSum(gradient, axes, true);
  if (leading === 0) return summed;
  return reshapeTo(graph, summed, target);
}

/** Reshapes `value` to the shape of `target` (a constant shape when static, `Shape(target)` otherwise). */
export function reshapeTo(graph: Graph, value: Value, target: Value): Value {
  if (target.shape.every((size) => typeof size === 'number')) {
    return graph.reshape(value, target.shape as number[]);
  }
  return graph.reshapeLike(value, graph.shapeOf(target), target.shape);
}

/** Sum of gradient contributions (Add for two, Sum for more). */
export function sumValues(graph: Graph, values: readonly Value[]): Value {
  if (values.length === 1) return values[0] as Value;
  if (values.length === 2) return graph.add(values[0] as Value, values[1] as Value);
  const first = values[0] as Value;
  return graph.node('Sum', values, {}, [{ dtype: first.dtype, shape: first.shape }])[0] as Value;
}
