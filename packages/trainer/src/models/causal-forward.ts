import type { Value } from '../onnx/graph.js';
import type { QuantizedLinearValues } from '../quantization/declare-quantized-linears.js';
import type { DropoutMaskCollector } from './create-dropout.js';
import type { LoraGraphAdapters } from './lora-module-values.js';

/**
 * What a causal decoder's forward builder (`buildGpt2Forward`, `buildLlamaForward`) takes besides
 * its config and weights: the graph's inputs, the adapters and the training-mode dropout.
 */
export interface CausalForwardInputs {
  /** Adapters by module path, with their settings. */
  lora?: LoraGraphAdapters;
  /** Training-mode dropout: where to record the mask inputs (see `createDropout`). */
  dropout?: DropoutMaskCollector;
  /** int64 `[batch, sequence]`. */
  inputIds: Value;
  /** int64 `[batch, past + sequence]` (1 = attend, 0 = padding). */
  attentionMask: Value;
  /** int64 `[batch, sequence]`; default `past … past + sequence − 1`. */
  positionIds?: Value;
  /**
   * Cached keys/values `[batch, cacheHeads, past, headSize]` per layer (inference with a key/value
   * cache): GPT-2 caches one per attention head, Llama one per key/value head, after rotary.
   */
  past?: Array<{ key: Value; value: Value }>;
  /** Frozen 4-bit linear layers by module path (their float `.weight` is then not declared). */
  quantized?: ReadonlyMap<string, QuantizedLinearValues>;
}

/** What a causal decoder's forward builder returns. */
export interface CausalForwardResult {
  /** `[batch·sequence, vocab]`. */
  logits: Value;
  /** Final hidden states after the last norm, `[batch·sequence, hidden]` (the LM head's input). */
  hidden: Value;
  /** The LM head weight `[vocab, hidden]`: `lm_head.weight`, or the token embeddings when tied. */
  headWeight: Value;
  /** Run-time `[batch, sequence]` of the input ids (int64 vector). */
  batchSequenceShape: Value;
  /** Keys and values including the new tokens, `[batch, cacheHeads, past + sequence, headSize]`. */
  presents: Array<{ key: Value; value: Value }>;
}
