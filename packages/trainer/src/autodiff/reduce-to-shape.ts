import { type Dimension, type Graph, shapeKey, type Value } from '../onnx/graph.js';

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

/**
 * Reshapes `value` to the shape of `target`. The shape is a constant whenever the tracked shapes
 * allow it: static sizes as they are, a symbolic size at the same axis of `value` as `0` (Reshape's
 * "copy this axis") and at most one other symbolic size as `-1`. Only otherwise is it computed at
 * run time: with a shape value the forward pass computed for the same static shape
 * (`graph.runtimeShapes`, e.g. `[batch, sequence, heads, headSize]`), else with `Shape(target)`, a
 * node (and a value onnxruntime's allocation planner walks) per use.
 * When the tracked shapes are equal, `value` is returned as it is.
 */
export function reshapeTo(graph: Graph, value: Value, target: Value): Value {
  if (sameShape(value.shape, target.shape)) return value;
  const constant = constantReshape(value.shape, target.shape);
  if (constant) {
    return graph.node('Reshape', [value, graph.int64s(constant)], {}, [
      { dtype: value.dtype, shape: target.shape },
    ])[0] as Value;
  }
  const recorded = graph.runtimeShapes.get(shapeKey(target.shape));
  return graph.reshapeLike(value, recorded ?? graph.shapeOf(target), target.shape);
}

/** Whether two tracked shapes are the same (equal sizes and symbols, axis by axis). */
function sameShape(a: readonly Dimension[], b: readonly Dimension[]): boolean {
  return a.length === b.length && a.every((size, axis) => size === b[axis]);
}

/**
 * The constant Reshape shape (`0` = copy the input's axis, `-1` = inferred) that turns a tensor of
 * shape `from` into one of shape `to`, or undefined when `to` has more than one symbolic size not
 * found at the same axis of `from` (or a static size 0, which Reshape would read as "copy").
 */
export function constantReshape(from: readonly Dimension[], to: readonly Dimension[]): number[] | undefined {
  let inferred = false;
  const shape: number[] = [];
  for (const [axis, size] of to.entries()) {
    if (typeof size === 'number') {
      if (size === 0) return undefined;
      shape.push(size);
    } else if (axis < from.length && from[axis] === size) {
      shape.push(0);
    } else if (!inferred) {
      inferred = true;
      shape.push(-1);
    } else {
      return undefined;
    }
  }
  return shape;
}

/**
 * Broadcasts `value` to the shape of `target` (same rank, `value` of size 1 or equal on each axis)
 * with `Expand`: by a constant shape when every axis where `value` has size 1 has a static size in
 * `target` (`1` stands for the axes where they agree), else by `Shape(target)`.
 */
export function expandTo(graph: Graph, value: Value, target: Value): Value {
  const shape: number[] = [];
  const constant =
    value.shape.length === target.shape.length &&
    target.shape.every((size, axis) => {
      const own = value.shape[axis];
      if (own === size) {
        shape.push(1);
        return true;
      }
      if (own === 1 && typeof size === 'number') {
        shape.push(size);
        return true;
      }
      return false;
    });
  if (!constant) return graph.expandLike(value, target);
  return graph.node('Expand', [value, graph.int64s(shape)], {}, [
    { dtype: value.dtype, shape: target.shape },
  ])[0] as Value;
}

/** Sum of gradient contributions (Add for two, Sum for more). */
export function sumValues(graph: Graph, values: readonly Value[]): Value {
  if (values.length === 1) return values[0] as Value;
  if (values.length === 2) return graph.add(values[0] as Value, values[1] as Value);
  const first = values[0] as Value;
  return graph.node('Sum', values, {}, [{ dtype: first.dtype, shape: first.shape }])[0] as Value;
}
