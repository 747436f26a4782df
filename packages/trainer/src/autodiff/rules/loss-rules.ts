import { tunekitError } from '@tunekit/core';
import type { Value } from '../../onnx/graph.js';
import type { GradientRuleTable } from '../gradient-rule.js';

/** Gradient rule of SoftmaxCrossEntropyLoss (`[N, C]` scores, `[N]` labels, mean or sum, ignore_index). */
export const LOSS_RULES: GradientRuleTable = {
  SoftmaxCrossEntropyLoss: (context) => {
    const g = context.graph;
    const [scores, labels, weights] = context.inputs as [Value, Value, Value | undefined];
    const dy = context.outputGradients[0] as Value;
    const reduction = context.attribute('reduction', 'mean');
    if (weights || scores.shape.length !== 2 || reduction === 'none') {
      throw tunekitError(
        'AUTODIFF_UNSUPPORTED',
        `No gradient for ${context.node.name}: only [N, C] scores without weights, mean or sum`,
        { node: context.node.name },
      );
    }
    const logProbabilities = context.outputs[1] as Value;
    const probabilities = g.exp(logProbabilities);
    const ignoreIndex = context.node.attributes.ignore_index as number | undefined;
    let labelMask: Value | undefined;
    let safeLabels = labels;
    if (ignoreIndex !== undefined) {
      const ignored = g.equal(labels, g.scalar(ignoreIndex, labels.dtype));
      labelMask = g.cast(g.not(ignored), scores.dtype);
      safeLabels = g.where(ignored, g.scalar(0, labels.dtype), labels);
    }
    const column = g.unsqueeze(safeLabels.dtype === 'int64' ? safeLabels : g.cast(safeLabels, 'int64'), [1]);
    const columnMask = labelMask
      ? g.unsqueeze(labelMask, [1])
      : g.expandLike(g.scalar(1, scores.dtype), column);
    const oneHot = g.node('ScatterElements', [g.zerosLike(scores), column, columnMask], { axis: 1 }, [
      { dtype: scores.dtype, shape: scores.shape },
    ])[0] as Value;
    const masked = labelMask ? g.mul(probabilities, columnMask) : probabilities;
    let scale = dy;
    if (reduction === 'mean') {
      const count = labelMask
        ? g.node('Max', [g.reduceSum(labelMask, undefined, false), g.scalar(1, scores.dtype)], {}, [
            { dtype: scores.dtype, shape: [] },
          ])[0]
        : g.cast(g.node('Size', [labels], {}, [{ dtype: 'int64', shape: [] }])[0] as Value, scores.dtype);
      scale = g.div(dy, count as Value);
    }
    return [g.mul(g.sub(masked, oneHot), scale), undefined, undefined];
  },
};
