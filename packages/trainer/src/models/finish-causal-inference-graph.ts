import type { Graph } from '../onnx/graph.js';
import type { CausalForwardResult } from './causal-forward.js';
import { finishInferenceGraph } from './finish-inference-graph.js';
import type { InferenceGraph } from './model-architecture.js';
import { reshapeCausalLogits } from './reshape-causal-logits.js';

/** Options of {@link finishCausalInferenceGraph}. */
export interface FinishCausalInferenceGraphOptions {
  /** The forward pass: 2-D logits, run-time `[batch, sequence]` and the updated key/value cache. */
  forward: Pick<CausalForwardResult, 'logits' | 'batchSequenceShape' | 'presents'>;
  vocabularySize: number;
  externalDataThreshold?: number;
  /** Layers, cache heads and head size reported in the {@link InferenceGraph}. */
  dimensions: Pick<InferenceGraph, 'layers' | 'heads' | 'headSize'>;
}

/**
 * Ends a causal language model's inference graph: outputs `logits` `[batch_size, sequence_length,
 * vocab]` and each layer's `present.<layer>.key` / `.value`, then serializes it
 * ({@link finishInferenceGraph}).
 */
export function finishCausalInferenceGraph(
  graph: Graph,
  options: FinishCausalInferenceGraphOptions,
): InferenceGraph {
  const { forward } = options;
  graph.output(
    reshapeCausalLogits(graph, forward, options.vocabularySize, ['batch_size', 'sequence_length']),
    'logits',
  );
  forward.presents.forEach((present, layer) => {
    graph.output(present.key, `present.${layer}.key`);
    graph.output(present.value, `present.${layer}.value`);
  });
  return finishInferenceGraph(graph, options.externalDataThreshold, options.dimensions);
}
