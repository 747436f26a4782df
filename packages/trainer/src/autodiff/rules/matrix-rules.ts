import type { Graph, Value } from '../../onnx/graph.js';
import type { GradientRuleTable } from '../gradient-rule.js';
import { reduceToShape, reshapeTo } from '../reduce-to-shape.js';

function swapLastAxes(g: Graph, x: Value): Value {
  const perm = x.shape.map((_, index) => index);
  const rank = perm.length;
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return g.transpose(x, perm);
}

/** Flattens all but the last axis: `[..., n]` → `[-1, n]`. */
function flatten2d(g: Graph, x: Value): Value {
  return x.shape.length === 2 ? x : g.reshape(x, [-1, x.shape[x.shape.length - 1] as number]);
}

/** Gradient rules of MatMul and Gemm (frozen weights are never transposed: Gemm flags do it). */
export const MATRIX_RULES: GradientRuleTable = {
  MatMul: (context) => {
    const g = context.graph;
    const dy = context.outputGradients[0] as Value;
    const [a, b] = context.inputs as [Value, Value];
    if (b.shape.length === 2) {
      // x[..., k] · W[k, n]: fold the batch axes into rows and use Gemm's transpose flags.
      const a2 = flatten2d(g, a);
      const dy2 = flatten2d(g, dy);
      return [
        context.needsGradient(0) ? reshapeTo(g, g.gemm(dy2, b, undefined, { transB: true }), a) : undefined,
        context.needsGradient(1) ? g.gemm(a2, dy2, undefined, { transA: true }) : undefined,
      ];
    }
    return [
      context.needsGradient(0) ? reduceToShape(g, g.matmul(dy, swapLastAxes(g, b)), a) : undefined,
      context.needsGradient(1) ? reduceToShape(g, g.matmul(swapLastAxes(g, a), dy), b) : undefined,
    ];
  },
  Gemm: (context) => {
    const g = context.graph;
    const dy = context.outputGradients[0] as Value;
    const [a, b, c] = context.inputs as [Value, Value, Value | undefined];
    const alpha = context.attribute('alpha', 1);
    const beta = context.attribute('beta', 1);
    const transA = context.attribute('transA', 0) === 1;
    const transB = context.attribute('transB', 0) === 1;
    let da: Value | undefined;
    let db: Value | undefined;
    if (context.needsGradient(0)) {
      da = transA
        ? g.gemm(b, dy, undefined, { alpha, transA: transB, transB: true })
        : g.gemm(dy, b, undefined, { alpha, transB: !transB });
    }
    if (context.needsGradient(1)) {
      db = transB
        ? g.gemm(dy, a, undefined, { alpha, transA: true, transB: transA })
        : g.gemm(a, dy, undefined, { alpha, transA: !transA });
    }
    let dc: Value | undefined;
    if (c && context.needsGradient(2)) {
      dc = reduceToShape(g, beta === 1 ? dy : g.mul(dy, g.scalar(beta, dy.dtype)), c);
    }
    return [da, db, dc];
  },
};
