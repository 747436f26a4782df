import type { Graph, Value } from '../../onnx/graph.js';
import { buildQuantizedLinear } from '../../quantization/build-quantized-linear.js';
import { addLoraAdapter } from '../add-lora-adapter.js';
import { buildCausalMaskBias } from '../build-causal-mask-bias.js';
import type { CausalForwardInputs, CausalForwardResult } from '../causal-forward.js';
import { createDropout } from '../create-dropout.js';
import { int64Range } from '../int64-range.js';
import { measureCausalSequence } from '../measure-causal-sequence.js';
import { type LlamaConfig, llamaDimensions } from './llama-config.js';
import { buildRmsNorm, buildSiluGate } from './rms-norm.js';
import { applyRotaryEmbedding, buildRotaryTables, rotaryInverseFrequencies } from './rotary-embedding.js';

/** Options of {@link buildLlamaForward}. */
export interface LlamaForwardOptions extends CausalForwardInputs {
  config: LlamaConfig;
  /** Value of a Hugging Face weight (an initializer or a trainable input); undefined when absent. */
  weight: (name: string) => Value | undefined;
}

/** Result of {@link buildLlamaForward} (`past` and `presents` have one cache head per key/value head). */
export type LlamaForwardResult = CausalForwardResult;

/**
 * Builds the forward pass of Hugging Face's `LlamaForCausalLM` / `Qwen2ForCausalLM`: RMSNorm
 * pre-norm blocks, rotary position embeddings (`rope_theta`, `rope_scaling`), grouped-query
 * attention with a causal + padding mask, SiLU-gated MLP and the (optionally tied) LM head.
 * Hidden states stay 2-D `[batch·sequence, hidden]`; every Linear is one Gemm with `transB` on the
 * `[out, in]` weight (no transposed copies), LoRA adds `scaling · dropout(x)·Aᵀ·Bᵀ`. Grouped-query
 * attention never copies keys: queries are viewed as `[batch, kvHeads, groups, sequence, headSize]`
 * and multiply the `[batch, kvHeads, 1, …]` keys by broadcasting (Hugging Face's `repeat_kv` order).
 */
export function buildLlamaForward(graph: Graph, options: LlamaForwardOptions): LlamaForwardResult {
  const { config } = options;
  const weight = (name: string) => options.weight(name) as Value;
  const { hidden: d, heads, keyValueHeads, headSize } = llamaDimensions(config);
  const groups = heads / keyValueHeads;
  const [batch, sequence] = options.inputIds.shape as [number | string, number | string];
  const dropout = createDropout(graph, options.dropout);

  const { batchSequenceShape, pastLength, totalLength } = measureCausalSequence(
    graph,
    options.inputIds,
    options.past,
  );
  const positions =
    options.positionIds ??
    graph.expandLike(graph.unsqueeze(int64Range(graph, pastLength, totalLength), [0]), options.inputIds);

  let hidden = graph.scope('embed_tokens', () =>
    graph.reshape(graph.gather(weight('model.embed_tokens.weight'), options.inputIds), [-1, d]),
  );
  const { cos, sin, signedSin } = graph.scope('rotary', () =>
    buildRotaryTables(
      graph,
      positions,
      rotaryInverseFrequencies(headSize, config.rope_theta, config.rope_scaling),
    ),
  );
  // Queries and keys are rotated in token-major layout `[batch, sequence, kvHeads, groups or 1,
  // headSize]`, before their heads move forward: the tables broadcast as `[batch, sequence, 1, 1,
  // headSize]`. The query's tables carry the attention scale `1/√headSize` (folded once per graph
  // instead of a Mul and its gradient per layer); the cache path keeps `[batch, 1, sequence, headSize]`.
  const scale = 1 / Math.sqrt(headSize);
  const tokenMajor = (table: Value) => graph.unsqueeze(graph.transpose(table, [0, 2, 1, 3]), [3]);
  const key = { cos: tokenMajor(cos), sin: tokenMajor(sin), signedSin: tokenMajor(signedSin) };
  const query = {
    cos: graph.mul(key.cos, graph.scalar(scale, 'float32')),
    sin: graph.mul(key.sin, graph.scalar(scale, 'float32')),
    signedSin: graph.mul(key.signedSin, graph.scalar(scale, 'float32')),
  };
  const rotate = (x: Value, tables: typeof key) =>
    applyRotaryEmbedding(graph, x, tables.cos, tables.sin, tables.signedSin);

  // Additive attention mask [batch, 1, 1, sequence, past + sequence]: causal and padding.
  const maskBias = buildCausalMaskBias(graph, { pastLength, totalLength }, options.attentionMask, [1, 2, 3]);

  const linear = (x: Value, modulePath: string): Value => {
    const bias = options.weight(`${modulePath}.bias`);
    const quantized = options.quantized?.get(modulePath);
    const output = quantized
      ? buildQuantizedLinear(graph, x, quantized, bias)
      : graph.gemm(x, weight(`${modulePath}.weight`), bias, { transB: true });
    return addLoraAdapter(graph, x, output, modulePath, options.lora, dropout);
  };
  const rmsNorm = (x: Value, name: string) => buildRmsNorm(graph, x, weight(name), config.rms_norm_eps);
  const shapeWith = (middle: number[]) => graph.concat([batchSequenceShape, graph.int64s(middle)], 0);
  const queryShape = shapeWith([keyValueHeads, groups, headSize]);
  const keyShape = shapeWith([keyValueHeads, 1, headSize]);
  const presents: Array<{ key: Value; value: Value }> = [];

  for (let layer = 0; layer < config.num_hidden_layers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    hidden = graph.recomputeSegment(`layers.${layer}`, () => {
      const attentionOutput = graph.scope('self_attn', () => {
        const normalized = rmsNorm(hidden, `${prefix}.input_layernorm.weight`);
        const q = linear(normalized, `${prefix}.self_attn.q_proj`);
        const k = linear(normalized, `${prefix}.self_attn.k_proj`);
        const v = linear(normalized, `${prefix}.self_attn.v_proj`);
        // Scaled queries [batch, kvHeads, groups, sequence, headSize].
        const queries = graph.transpose(
          rotate(graph.reshapeLike(q, queryShape, [batch, sequence, keyValueHeads, groups, headSize]), query),
          [0, 2, 3, 1, 4],
        );
        // [batch, sequence, kvHeads, 1, headSize]
        const keys = rotate(
          graph.reshapeLike(k, keyShape, [batch, sequence, keyValueHeads, 1, headSize]),
          key,
        );
        const values = graph.reshapeLike(v, keyShape, [batch, sequence, keyValueHeads, 1, headSize]);
        // Keys as [batch, kvHeads, 1, headSize, keys] and values as [batch, kvHeads, 1, keys, headSize].
        let keyTransposed: Value;
        let valueHeads: Value;
        const past = options.past?.[layer];
        if (past) {
          // The cache is [batch, kvHeads, past, headSize]: append the new tokens in that layout.
          const headsFirst = (x: Value) => graph.squeeze(graph.transpose(x, [0, 2, 3, 1, 4]), [2]);
          const present = {
            key: graph.concat([past.key, headsFirst(keys)], 2),
            value: graph.concat([past.value, headsFirst(values)], 2),
          };
          presents.push(present);
          keyTransposed = graph.unsqueeze(graph.transpose(present.key, [0, 1, 3, 2]), [2]);
          valueHeads = graph.unsqueeze(present.value, [2]);
        } else {
          keyTransposed = graph.transpose(keys, [0, 2, 3, 4, 1]);
          valueHeads = graph.transpose(values, [0, 2, 3, 1, 4]);
        }
        const scores = graph.add(graph.matmul(queries, keyTransposed), maskBias);
        const probabilities = dropout(graph.softmax(scores, -1), config.attention_dropout);
        const context = graph.matmul(probabilities, valueHeads);
        const merged = graph.reshape(graph.transpose(context, [0, 3, 1, 2, 4]), [-1, heads * headSize]);
        return linear(merged, `${prefix}.self_attn.o_proj`);
      });
      const afterAttention = graph.add(hidden, attentionOutput);
      const mlpOutput = graph.scope('mlp', () => {
        const normalized = rmsNorm(afterAttention, `${prefix}.post_attention_layernorm.weight`);
        const gated = buildSiluGate(
          graph,
          linear(normalized, `${prefix}.mlp.gate_proj`),
          linear(normalized, `${prefix}.mlp.up_proj`),
        );
        return linear(gated, `${prefix}.mlp.down_proj`);
      });
      return graph.add(afterAttention, mlpOutput);
    });
  }
  const final = graph.scope('norm', () => rmsNorm(hidden, 'model.norm.weight'));
  const headWeight = config.tie_word_embeddings
    ? weight('model.embed_tokens.weight')
    : weight('lm_head.weight');
  const logits = graph.scope('lm_head', () => graph.gemm(final, headWeight, undefined, { transB: true }));
  return { logits, hidden: final, headWeight, batchSequenceShape, presents };
}
