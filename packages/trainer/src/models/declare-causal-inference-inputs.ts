import type { Dimension, Graph, Value } from '../onnx/graph.js';

/** The inputs of a causal language model's inference graph, as {@link declareCausalInferenceInputs} declares them. */
export interface CausalInferenceInputs {
  /** `input_ids`, int64 `[batch_size, sequence_length]`. */
  inputIds: Value;
  /** `attention_mask`, int64 `[batch_size, total_sequence_length]`. */
  attentionMask: Value;
  /** `position_ids`, int64 `[batch_size, sequence_length]`. */
  positionIds: Value;
  /** `past_key_values.<layer>.key` / `.value` per layer; undefined without a key/value cache. */
  past: Array<{ key: Value; value: Value }> | undefined;
}

/**
 * Declares the inputs of a causal language model's inference graph (Hugging Face / Optimum ONNX
 * names): ids, mask, positions and, with `kvCache`, each layer's cached keys and values of shape
 * `[batch_size, cacheHeads, past_sequence_length, headSize]`.
 */
export function declareCausalInferenceInputs(
  graph: Graph,
  options: { kvCache?: boolean; layers: number; cacheHeads: number; headSize: number },
): CausalInferenceInputs {
  const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = graph.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const cacheShape = (): Dimension[] => [
    'batch_size',
    options.cacheHeads,
    'past_sequence_length',
    options.headSize,
  ];
  const past = options.kvCache
    ? Array.from({ length: options.layers }, (_, layer) => ({
        key: graph.input(`past_key_values.${layer}.key`, 'float32', cacheShape()),
        value: graph.input(`past_key_values.${layer}.value`, 'float32', cacheShape()),
      }))
    : undefined;
  return { inputIds, attentionMask, positionIds, past };
}
