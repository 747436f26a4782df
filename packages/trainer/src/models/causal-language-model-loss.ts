import type { Graph, Value } from '../onnx/graph.js';

/** Result of {@link buildCausalLanguageModelLoss}. */
export interface CausalLanguageModelLoss {
  /** Mean cross-entropy over counted tokens (float32 scalar). */
  loss: Value;
  /** d(loss)/d(logits), `[batch·sequence, vocab]`, to seed reverse mode from the logits. */
  logitsGradient: Value;
}

/**
 * Shifted causal-LM cross-entropy as Hugging Face computes it (position t predicts label t+1,
 * labels -100 ignored, mean over counted tokens), built without slicing the logits: the labels are
 * shifted instead and the last position gets -100. Returns the loss and its fused gradient
 * `(softmax − onehot) · mask / count`, three passes over the logits (Exp, Mul, ScatterElements-add)
 * instead of the half-dozen the generic LogSoftmax/GatherElements rules would build (onnxruntime
 * also expands `SoftmaxCrossEntropyLoss` into a function body with two full-size Transposes).
 */
export function buildCausalLanguageModelLoss(
  graph: Graph,
  logits: Value,
  labels: Value,
  batchSequenceShape: Value,
): CausalLanguageModelLoss {
  return graph.scope('loss', () => {
    const batch = labels.shape[0] as number | string;
    const next = graph.slice(labels, [1], [Number.MAX_SAFE_INTEGER], [1]);
    const fillShape = graph.concat([graph.slice(batchSequenceShape, [0], [1], [0]), graph.int64s([1])], 0);
    const fill = graph.node('Expand', [graph.constant([-100], 'int64', [1, 1]), fillShape], {}, [
      { dtype: 'int64', shape: [batch, 1] },
    ])[0] as Value;
    const shifted = graph.reshape(graph.concat([next, fill], 1), [-1, 1]);
    const ignored = graph.equal(shifted, graph.constant([-100], 'int64', []));
    const safeLabels = graph.where(ignored, graph.constant([0], 'int64', []), shifted);
    const mask = graph.cast(graph.not(ignored), 'float32');
    const count = graph.node(
      'Max',
      [graph.reduceSum(mask, undefined, false), graph.scalar(1, 'float32')],
      {},
      [{ dtype: 'float32', shape: [] }],
    )[0] as Value;
    const logProbabilities = graph.logSoftmax(logits, -1);
    const picked = graph.gatherElements(logProbabilities, safeLabels, 1);
    const loss = graph.neg(graph.div(graph.reduceSum(graph.mul(picked, mask), undefined, false), count));
    const weight = graph.div(mask, count);
    const scaledProbabilities = graph.mul(graph.exp(logProbabilities), weight);
    const logitsGradient = graph.node(
      'ScatterElements',
      [scaledProbabilities, safeLabels, graph.neg(weight)],
      { axis: 1, reduction: 'add' },
      [{ dtype: 'float32', shape: logits.shape }],
    )[0] as Value;
    return { loss, logitsGradient };
  });
}
