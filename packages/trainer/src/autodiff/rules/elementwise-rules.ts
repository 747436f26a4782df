import type { Value } from '../../onnx/graph.js';
import type { GradientContext, GradientRuleTable } from '../gradient-rule.js';
import { reduceToShape } from '../reduce-to-shape.js';

function operands(context: GradientContext): { dy: Value; a: Value; b: Value; y: Value } {
  return {
    dy: context.outputGradients[0] as Value,
    a: context.inputs[0] as Value,
    b: context.inputs[1] as Value,
    y: context.outputs[0] as Value,
  };
}

function unary(context: GradientContext): { dy: Value; x: Value; y: Value } {
  return {
    dy: context.outputGradients[0] as Value,
    x: context.inputs[0] as Value,
    y: context.outputs[0] as Value,
  };
}

/** Only build a gradient for inputs that need one. */
function when(context: GradientContext, index: number, build: () => Value): Value | undefined {
  return context.needsGradient(index) ? build() : undefined;
}

/** Gradient rules of elementwise arithmetic and activations (broadcast operands reduced back). */
export const ELEMENTWISE_RULES: GradientRuleTable = {
  Add: (context) => {
    const { dy, a, b } = operands(context);
    const g = context.graph;
    return [when(context, 0, () => reduceToShape(g, dy, a)), when(context, 1, () => reduceToShape(g, dy, b))];
  },
  Sub: (context) => {
    const { dy, a, b } = operands(context);
    const g = context.graph;
    return [
      when(context, 0, () => reduceToShape(g, dy, a)),
      when(context, 1, () => reduceToShape(g, g.neg(dy), b)),
    ];
  },
  Mul: (context) => {
    const { dy, a, b } = operands(context);
    const g = context.graph;
    return [
      when(context, 0, () => reduceToShape(g, g.mul(dy, b), a)),
      when(context, 1, () => reduceToShape(g, g.mul(dy, a), b)),
    ];
  },
  Div: (context) => {
    const { dy, a, b, y } = operands(context);
    const g = context.graph;
    return [
      when(context, 0, () => reduceToShape(g, g.div(dy, b), a)),
      when(context, 1, () => reduceToShape(g, g.neg(g.div(g.mul(dy, y), b)), b)),
    ];
  },
  Pow: (context) => {
    const { dy, a, b, y } = operands(context);
    const g = context.graph;
    return [
      when(context, 0, () => {
        const exponent = b.dtype === a.dtype ? b : g.cast(b, a.dtype);
        const derivative = g.mul(exponent, g.pow(a, g.sub(exponent, g.scalar(1, a.dtype))));
        return reduceToShape(g, g.mul(dy, derivative), a);
      }),
      when(context, 1, () => reduceToShape(g, g.mul(g.mul(dy, y), g.log(a)), b)),
    ];
  },
  Neg: (context) => [context.graph.neg(unary(context).dy)],
  Identity: (context) => [unary(context).dy],
  Sqrt: (context) => {
    const { dy, x, y } = unary(context);
    const g = context.graph;
    return [g.div(g.mul(dy, g.scalar(0.5, x.dtype)), y)];
  },
  Reciprocal: (context) => {
    const { dy, y } = unary(context);
    const g = context.graph;
    return [g.neg(g.mul(dy, g.mul(y, y)))];
  },
  Exp: (context) => {
    const { dy, y } = unary(context);
    return [context.graph.mul(dy, y)];
  },
  Log: (context) => {
    const { dy, x } = unary(context);
    return [context.graph.div(dy, x)];
  },
  Tanh: (context) => {
    const { dy, x, y } = unary(context);
    const g = context.graph;
    return [g.mul(dy, g.sub(g.scalar(1, x.dtype), g.mul(y, y)))];
  },
  Erf: (context) => {
    const { dy, x } = unary(context);
    const g = context.graph;
    const gaussian = g.exp(g.neg(g.mul(x, x)));
    return [g.mul(dy, g.mul(gaussian, g.scalar(2 / Math.sqrt(Math.PI), x.dtype)))];
  },
  Relu: (context) => {
    const { dy, x, y } = unary(context);
    const g = context.graph;
    return [g.mul(dy, g.cast(g.greater(y, g.scalar(0, x.dtype)), x.dtype))];
  },
  Sigmoid: (context) => {
    const { dy, x, y } = unary(context);
    const g = context.graph;
    return [g.mul(dy, g.mul(y, g.sub(g.scalar(1, x.dtype), y)))];
  },
  Cast: (context) => {
    const { dy, x } = unary(context);
    return [x.dtype === dy.dtype ? dy : context.graph.cast(dy, x.dtype)];
  },
  Where: (context) => {
    const dy = context.outputGradients[0] as Value;
    const [condition, a, b] = context.inputs as [Value, Value, Value];
    const g = context.graph;
    return [
      undefined,
      when(context, 1, () => reduceToShape(g, g.where(condition, dy, g.scalar(0, dy.dtype)), a)),
      when(context, 2, () => reduceToShape(g, g.where(condition, g.scalar(0, dy.dtype), dy), b)),
    ];
  },
  Dropout: (context) => {
    const dy = context.outputGradients[0] as Value;
    const [x, ratio, trainingMode] = context.inputs;
    const g = context.graph;
    const training = trainingMode ? (g.constantValues(trainingMode)?.[0] ?? 1) : 0;
    if (!training) return [dy];
    const ratioValue = ratio ? (g.constantValues(ratio)?.[0] ?? 0.5) : 0.5;
    const mask = g.cast(context.outputs[1] as Value, (x as Value).dtype);
    return [g.mul(g.mul(dy, mask), g.scalar(1 / (1 - ratioValue), dy.dtype))];
  },
};
