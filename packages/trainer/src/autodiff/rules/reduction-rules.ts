import type { Graph, Value } from '../../onnx/graph.js';
import type { GradientContext, GradientRuleTable } from '../gradient-rule.js';
import { expandTo } from '../reduce-to-shape.js';

/** Axes of a Reduce* node (input at opset ≥ 18 or for ReduceSum, attribute otherwise), normalized. */
function reductionAxes(context: GradientContext, x: Value): number[] {
  const axesInput = context.inputs[1];
  const raw = axesInput
    ? context.graph.constantValues(axesInput)
    : (context.attribute('axes', [] as number[]) as number[]);
  if (axesInput && !raw) {
    throw new Error(`${context.node.name}: reduction axes must be constant for autodiff`);
  }
  const axes = raw && raw.length > 0 ? raw : x.shape.map((_, index) => index);
  return axes.map((axis) => (axis < 0 ? axis + x.shape.length : axis)).sort((p, q) => p - q);
}

/** Broadcasts the gradient of a reduction back over the reduced axes. */
function expandReduced(context: GradientContext, x: Value, axes: number[]): Value {
  const g = context.graph;
  let dy = context.outputGradients[0] as Value;
  if (context.attribute('keepdims', 1) === 0) dy = g.unsqueeze(dy, axes);
  return expandTo(g, dy, x);
}

/** Number of elements a mean divides by, as a scalar of `dtype`. */
function reducedCount(g: Graph, x: Value, y: Value, axes: number[]): Value {
  const sizes = axes.map((axis) => x.shape[axis]);
  if (sizes.every((size) => typeof size === 'number')) {
    return g.scalar(
      (sizes as number[]).reduce((p, q) => p * q, 1),
      x.dtype,
    );
  }
  const size = (value: Value) =>
    g.cast(g.node('Size', [value], {}, [{ dtype: 'int64', shape: [] }])[0] as Value, x.dtype);
  return g.div(size(x), size(y));
}

/** Gradient rules of reductions and normalizing activations (Softmax, LogSoftmax). */
export const REDUCTION_RULES: GradientRuleTable = {
  ReduceSum: (context) => {
    const x = context.inputs[0] as Value;
    return [expandReduced(context, x, reductionAxes(context, x))];
  },
  ReduceMean: (context) => {
    const g = context.graph;
    const x = context.inputs[0] as Value;
    const axes = reductionAxes(context, x);
    return [g.div(expandReduced(context, x, axes), reducedCount(g, x, context.outputs[0] as Value, axes))];
  },
  Softmax: (context) => {
    const g = context.graph;
    const dy = context.outputGradients[0] as Value;
    const y = context.outputs[0] as Value;
    const axis = context.attribute('axis', -1);
    const inner = g.reduceSum(g.mul(dy, y), [axis], true);
    return [g.mul(y, g.sub(dy, inner))];
  },
  LogSoftmax: (context) => {
    const g = context.graph;
    const dy = context.outputGradients[0] as Value;
    const y = context.outputs[0] as Value;
    const axis = context.attribute('axis', -1);
    return [g.sub(dy, g.mul(g.exp(y), g.reduceSum(dy, [axis], true)))];
  },
};
