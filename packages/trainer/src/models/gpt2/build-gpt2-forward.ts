import type { Graph, Value } from '../../onnx/graph.js';
import { buildQuantizedLinear } from '../../quantization/build-quantized-linear.js';
import { addLoraAdapter } from '../add-lora-adapter.js';
import { buildActivation } from '../build-activation.js';
import { buildCausalMaskBias } from '../build-causal-mask-bias.js';
import type { CausalForwardInputs, CausalForwardResult } from '../causal-forward.js';
import { createDropout } from '../create-dropout.js';
import { int64Range } from '../int64-range.js';
import { measureCausalSequence } from '../measure-causal-sequence.js';
import type { Gpt2Config } from './gpt2-config.js';

export type { LoraModuleValues } from '../lora-module-values.js';

/** Options of {@link buildGpt2Forward}. */
export interface Gpt2ForwardOptions extends CausalForwardInputs {
  config: Gpt2Config;
  /** Value of a Hugging Face weight (an initializer or a trainable input). */
  weight: (name: string) => Value;
}

/** Result of {@link buildGpt2Forward} (`past` and `presents` have one cache head per attention head). */
export type Gpt2ForwardResult = CausalForwardResult;

/**
 * Builds GPT-2's forward pass (pre-LayerNorm blocks, fused qkv Conv1D, causal + padding mask,
 * GELU-tanh MLP, LM head tied to the embeddings unless `tie_word_embeddings` is false). Hidden states stay 2-D `[batch·sequence, d]` so every projection is one
 * Gemm with the Conv1D weight `[in, out]` used as is (no transposed copies of frozen weights); LoRA
 * adds `scaling · dropout(x)·Aᵀ·Bᵀ` with the second Gemm accumulating into the base output.
 */
export function buildGpt2Forward(graph: Graph, options: Gpt2ForwardOptions): Gpt2ForwardResult {
  const { config, weight } = options;
  const d = config.n_embd;
  const heads = config.n_head;
  const headSize = d / heads;
  const [batch, sequence] = options.inputIds.shape as [number | string, number | string];
  const dropout = createDropout(graph, options.dropout);
  const runtimeShape = (parts: Array<Value | number[]>): Value =>
    graph.concat(
      parts.map((part) => (Array.isArray(part) ? graph.int64s(part) : part)),
      0,
    );

  const { batchSequenceShape, pastLength, totalLength } = measureCausalSequence(
    graph,
    options.inputIds,
    options.past,
  );

  // Embeddings.
  const positions = options.positionIds ?? int64Range(graph, pastLength, totalLength);
  const tokenEmbeddings = graph.scope('wte', () =>
    graph.gather(weight('transformer.wte.weight'), options.inputIds),
  );
  const positionEmbeddings = graph.scope('wpe', () =>
    graph.gather(weight('transformer.wpe.weight'), positions),
  );
  let hidden = graph.scope('embeddings', () =>
    graph.reshape(dropout(graph.add(tokenEmbeddings, positionEmbeddings), config.embd_pdrop), [-1, d]),
  );

  // Additive attention mask [batch, 1, sequence, past + sequence]: causal and padding.
  const maskBias = buildCausalMaskBias(graph, { pastLength, totalLength }, options.attentionMask, [1, 2]);

  const linear = (x: Value, modulePath: string): Value => {
    const quantized = options.quantized?.get(modulePath);
    const output = quantized
      ? buildQuantizedLinear(graph, x, quantized, weight(`${modulePath}.bias`))
      : graph.gemm(x, weight(`${modulePath}.weight`), weight(`${modulePath}.bias`));
    return addLoraAdapter(graph, x, output, modulePath, options.lora, dropout);
  };
  const layerNorm = (x: Value, prefix: string): Value =>
    graph.layerNormalization(
      x,
      weight(`${prefix}.weight`),
      weight(`${prefix}.bias`),
      config.layer_norm_epsilon,
    );
  const activation = (x: Value): Value =>
    buildActivation(
      graph,
      x,
      config.activation_function === 'gelu_pytorch_tanh' ? 'gelu_new' : config.activation_function,
    );

  const headShape = runtimeShape([batchSequenceShape, [heads, headSize]]);
  const splitHeads = (x: Value): Value => graph.reshapeLike(x, headShape, [batch, sequence, heads, headSize]);
  const presents: Array<{ key: Value; value: Value }> = [];
  const scale = config.scale_attn_weights ? 1 / Math.sqrt(headSize) : 1;

  for (let layer = 0; layer < config.n_layer; layer += 1) {
    const prefix = `transformer.h.${layer}`;
    hidden = graph.recomputeSegment(`h.${layer}`, () => {
      const attentionOutput = graph.scope('attn', () => {
        const normalized = layerNorm(hidden, `${prefix}.ln_1`);
        const qkv = linear(normalized, `${prefix}.attn.c_attn`);
        const [q, k, v] = graph.split(qkv, [d, d, d], 1) as [Value, Value, Value];
        let query = graph.transpose(splitHeads(q), [0, 2, 1, 3]);
        if (scale !== 1) query = graph.mul(query, graph.scalar(scale, 'float32'));
        let keyTransposed: Value;
        let value = graph.transpose(splitHeads(v), [0, 2, 1, 3]);
        const past = options.past?.[layer];
        if (past) {
          const key = graph.concat([past.key, graph.transpose(splitHeads(k), [0, 2, 1, 3])], 2);
          value = graph.concat([past.value, value], 2);
          presents.push({ key, value });
          keyTransposed = graph.transpose(key, [0, 1, 3, 2]);
        } else {
          keyTransposed = graph.transpose(splitHeads(k), [0, 2, 3, 1]);
        }
        const scores = graph.add(graph.matmul(query, keyTransposed), maskBias);
        const probabilities = dropout(graph.softmax(scores, -1), config.attn_pdrop);
        const context = graph.transpose(graph.matmul(probabilities, value), [0, 2, 1, 3]);
        const merged = graph.reshape(context, [-1, d]);
        return dropout(linear(merged, `${prefix}.attn.c_proj`), config.resid_pdrop);
      });
      const afterAttention = graph.add(hidden, attentionOutput);
      const mlpOutput = graph.scope('mlp', () => {
        const normalized = layerNorm(afterAttention, `${prefix}.ln_2`);
        const expanded = activation(linear(normalized, `${prefix}.mlp.c_fc`));
        return dropout(linear(expanded, `${prefix}.mlp.c_proj`), config.resid_pdrop);
      });
      return graph.add(afterAttention, mlpOutput);
    });
  }
  const final = graph.scope('ln_f', () => layerNorm(hidden, 'transformer.ln_f'));
  const headWeight = config.tie_word_embeddings ? weight('transformer.wte.weight') : weight('lm_head.weight');
  const logits = graph.scope('lm_head', () => graph.gemm(final, headWeight, undefined, { transB: true }));
  return { logits, hidden: final, headWeight, batchSequenceShape, presents };
}
