import type { Graph, Value } from '../onnx/graph.js';

/**
 * Mean softmax cross-entropy of `logits` `[batch, classes]` against int64 `labels` `[batch]`
 * (`-100` ignored), as PyTorch's `cross_entropy(ignore_index=-100)`, composed of `LogSoftmax`,
 * `GatherElements` and masking: ONNX's `SoftmaxCrossEntropyLoss` has no kernel in onnxruntime's CUDA
 * provider (it would run on the CPU), these operators do, and autodiff has rules for all of them.
 */
export function buildClassificationLoss(graph: Graph, logits: Value, labels: Value): Value {
  return graph.scope('loss', () => {
    const column = graph.unsqueeze(labels, [1]);
    const ignored = graph.equal(column, graph.constant([-100], 'int64', []));
    const safe = graph.where(ignored, graph.constant([0], 'int64', []), column);
    const mask = graph.cast(graph.not(ignored), logits.dtype);
    const count = graph.node(
      'Max',
      [graph.reduceSum(mask, undefined, false), graph.scalar(1, logits.dtype)],
      {},
      [{ dtype: logits.dtype, shape: [] }],
    )[0] as Value;
    const picked = graph.gatherElements(graph.logSoftmax(logits, -1), safe, 1);
    return graph.neg(graph.div(graph.reduceSum(graph.mul(picked, mask), undefined, false), count));
  });
}
