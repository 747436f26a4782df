import type { Value } from '../../onnx/graph.js';
import type { GradientRuleTable } from '../gradient-rule.js';
import { reduceToShape } from '../reduce-to-shape.js';

/** Gradient rule of LayerNormalization (normalizing over the axes from `axis` to the last). */
export const NORMALIZATION_RULES: GradientRuleTable = {
  LayerNormalization: (context) => {
    const g = context.graph;
    const [x, scale, bias] = context.inputs as [Value, Value, Value | undefined];
    const dy = context.outputGradients[0] as Value;
    const rank = x.shape.length;
    const rawAxis = context.attribute('axis', -1);
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    const axes = [...Array(rank - axis).keys()].map((offset) => axis + offset);
    let mean: Value;
    let inverseDeviation: Value;
    if (x.dtype === 'float32') {
      // The forward node saved both statistics.
      mean = context.outputs[1] as Value;
      inverseDeviation = context.outputs[2] as Value;
    } else {
      // onnxruntime keeps the saved statistics in float32 for float64 inputs: recompute them exactly.
      const epsilon = context.attribute('epsilon', { float: 1e-5 }) as { float: number } | number;
      const epsilonValue = Math.fround(typeof epsilon === 'number' ? epsilon : epsilon.float);
      mean = g.reduceMean(x, axes, true);
      const centered = g.sub(x, mean);
      const variance = g.reduceMean(g.mul(centered, centered), axes, true);
      inverseDeviation = g.reciprocal(g.sqrt(g.add(variance, g.scalar(epsilonValue, x.dtype))));
    }
    const normalized = g.mul(g.sub(x, mean), inverseDeviation);
    let dx: Value | undefined;
    if (context.needsGradient(0)) {
      const dNormalized = g.mul(dy, scale);
      const meanGradient = g.reduceMean(dNormalized, axes, true);
      const meanProjection = g.reduceMean(g.mul(dNormalized, normalized), axes, true);
      dx = g.mul(
        inverseDeviation,
        g.sub(g.sub(dNormalized, meanGradient), g.mul(normalized, meanProjection)),
      );
    }
    const dScale = context.needsGradient(1) ? reduceToShape(g, g.mul(dy, normalized), scale) : undefined;
    const dBias = bias && context.needsGradient(2) ? reduceToShape(g, dy, bias) : undefined;
    return [dx, dScale, dBias];
  },
};
