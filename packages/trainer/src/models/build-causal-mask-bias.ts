import type { Graph, Value } from '../onnx/graph.js';
import { int64Range } from './int64-range.js';
import type { CausalSequenceLengths } from './measure-causal-sequence.js';

/**
 * Builds the additive attention mask of a causal model in a `mask` scope: 0 where a query may attend
 * a key (the key is not in its future and not padding), −1e9 elsewhere, of shape
 * `[batch, 1, …, sequence, past + sequence]`. `paddingAxes` are the axes inserted into the int64
 * `attention_mask` `[batch, past + sequence]` to broadcast it against the scores (`[1, 2]` for
 * `[batch, heads, …]` scores).
 */
export function buildCausalMaskBias(
  graph: Graph,
  lengths: Pick<CausalSequenceLengths, 'pastLength' | 'totalLength'>,
  attentionMask: Value,
  paddingAxes: number[],
): Value {
  const { pastLength, totalLength } = lengths;
  return graph.scope('mask', () => {
    const keyPositions = graph.unsqueeze(
      int64Range(graph, graph.constant([0], 'int64', []), totalLength),
      [0],
    );
    const queryPositions = graph.unsqueeze(int64Range(graph, pastLength, totalLength), [1]);
    const causal = graph.not(graph.greater(keyPositions, queryPositions));
    const padding = graph.unsqueeze(graph.cast(attentionMask, 'bool'), paddingAxes);
    const allowed = graph.and(causal, padding);
    return graph.where(allowed, graph.scalar(0, 'float32'), graph.scalar(-1e9, 'float32'));
  });
}
