import { type TunekitError, tunekitError } from '@tunekit/core';
import type { Value } from '../../onnx/graph.js';
import type { GradientContext, GradientRuleTable } from '../gradient-rule.js';
import { reduceToShape, reshapeTo } from '../reduce-to-shape.js';

function constantInput(context: GradientContext, index: number, what: string): number[] | undefined {
  const input = context.inputs[index];
  if (!input) return undefined;
  const values = context.graph.constantValues(input);
  if (!values) throw unsupported(context, `${what} must be a constant`);
  return values;
}

function unsupported(context: GradientContext, reason: string): TunekitError {
  return tunekitError(
    'AUTODIFF_UNSUPPORTED',
    `No gradient for ${context.node.opType} node "${context.node.name}": ${reason}`,
    { node: context.node.name, opType: context.node.opType },
  );
}

function reshapeBack(context: GradientContext): Array<Value | undefined> {
  return [reshapeTo(context.graph, context.outputGradients[0] as Value, context.inputs[0] as Value)];
}

/** Gradient rules of shape and indexing operators. */
export const SHAPE_RULES: GradientRuleTable = {
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Flatten: reshapeBack,
  Transpose: (context) => {
    const dy = context.outputGradients[0] as Value;
    const rank = dy.shape.length;
    const perm = context.attribute('perm', [...Array(rank).keys()].reverse());
    const inverse = new Array<number>(rank);
    perm.forEach((axis, index) => {
      inverse[axis] = index;
    });
    return [context.graph.transpose(dy, inverse)];
  },
  Expand: (context) => [
    reduceToShape(context.graph, context.outputGradients[0] as Value, context.inputs[0] as Value),
  ],
  Slice: (context) => {
    const g = context.graph;
    const x = context.inputs[0] as Value;
    const dy = context.outputGradients[0] as Value;
    const starts = constantInput(context, 1, 'starts') as number[];
    const ends = constantInput(context, 2, 'ends') as number[];
    const axes = constantInput(context, 3, 'axes') ?? starts.map((_, index) => index);
    const steps = constantInput(context, 4, 'steps') ?? starts.map(() => 1);
    const rank = x.shape.length;
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((rawAxis, index) => {
      const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
      const size = x.shape[axis];
      if (steps[index] !== 1) throw unsupported(context, 'only step 1 is differentiable');
      if (typeof size !== 'number') throw unsupported(context, `axis ${axis} must have a static size`);
      const clamp = (value: number) => Math.min(Math.max(value < 0 ? value + size : value, 0), size);
      const start = clamp(starts[index] as number);
      const end = Math.max(clamp(ends[index] as number), start);
      pads[axis] = start;
      pads[axis + rank] = size - end;
    });
    const padded = g.node('Pad', [dy, g.int64s(pads)], {}, [{ dtype: dy.dtype, shape: x.shape }])[0] as Value;
    return [padded];
  },
  Split: (context) => {
    const g = context.graph;
    const x = context.inputs[0] as Value;
    const axis = context.attribute('axis', 0);
    const pieces = context.outputs.map(
      (output, index) => context.outputGradients[index] ?? g.zerosLike(output),
    );
    return [g.concat(pieces, axis < 0 ? axis + x.shape.length : axis)];
  },
  Concat: (context) => {
    const g = context.graph;
    const dy = context.outputGradients[0] as Value;
    const axis = context.attribute('axis', 0);
    const inputs = context.inputs as Value[];
    const sizes = inputs.map((input) => input.shape[axis < 0 ? axis + dy.shape.length : axis]);
    if (!sizes.every((size) => typeof size === 'number')) {
      throw unsupported(context, 'concatenated sizes must be static');
    }
    const pieces = g.split(dy, sizes as number[], axis);
    return pieces.map((piece, index) => (context.needsGradient(index) ? piece : undefined));
  },
  Gather: (context) => {
    const g = context.graph;
    const [data, indices] = context.inputs as [Value, Value];
    const dy = context.outputGradients[0] as Value;
    if (context.attribute('axis', 0) !== 0) throw unsupported(context, 'only axis 0 is differentiable');
    const index64 = indices.dtype === 'int64' ? indices : g.cast(indices, 'int64');
    const scatter = g.node(
      'ScatterND',
      [g.zerosLike(data), g.unsqueeze(index64, [-1]), dy],
      { reduction: 'add' },
      [{ dtype: data.dtype, shape: data.shape }],
    )[0] as Value;
    return [scatter, undefined];
  },
  GatherElements: (context) => {
    const g = context.graph;
    const [data, indices] = context.inputs as [Value, Value];
    const dy = context.outputGradients[0] as Value;
    const scatter = g.node(
      'ScatterElements',
      [g.zerosLike(data), indices, dy],
      { axis: context.attribute('axis', 0), reduction: 'add' },
      [{ dtype: data.dtype, shape: data.shape }],
    )[0] as Value;
    return [scatter, undefined];
  },
};
