import type { Graph, Value } from '../../onnx/graph.js';
import { addLoraAdapter } from '../add-lora-adapter.js';
import { buildActivation } from '../build-activation.js';
import { createDropout, type DropoutMaskCollector } from '../create-dropout.js';
import type { LoraGraphAdapters } from '../lora-module-values.js';
import type { EncoderSettings } from './bert-config.js';
import { encoderNames } from './bert-weights.js';

/** Options of {@link buildBertForward}. */
export interface BertForwardOptions {
  settings: EncoderSettings;
  /** Value of a Hugging Face weight (an initializer or a trainable input). */
  weight: (name: string) => Value;
  /** Adapters by module path, with their settings. */
  lora?: LoraGraphAdapters;
  /** Training-mode dropout: where to record the mask inputs (see `createDropout`). */
  dropout?: DropoutMaskCollector;
  /** int64 `[batch, sequence]`. */
  inputIds: Value;
  /** int64 `[batch, sequence]` (1 = attend, 0 = padding). */
  attentionMask: Value;
}

/** What {@link buildBertForward} computes. */
export interface BertForwardOutputs {
  /** Classification logits `[batch, labels]`. */
  logits: Value;
  /** The encoder's output `[batch, sequence, hidden]` (transformers' `last_hidden_state`). */
  lastHiddenState: Value;
  /** BERT only: `tanh(pooler.dense(first token))` `[batch, hidden]` (transformers' `pooler_output`). */
  poolerOutput?: Value;
}

/**
 * Builds a BERT-family sequence classifier's forward pass: its logits `[batch, labels]`, the
 * encoder's last hidden state and (BERT) the pooler output.
 * Post-LayerNorm encoder blocks (erf-GELU MLP), padding mask, the first token pooled by the
 * variant's head (BERT: pooler `tanh(dense)` then `classifier`; RoBERTa: `classifier.dense`, tanh,
 * `classifier.out_proj`; DistilBERT: `pre_classifier`, ReLU, `classifier`). Token types are all 0
 * (single-sentence classification). RoBERTa's positions count non-padding tokens from
 * `pad_token_id + 1`, as Hugging Face's `create_position_ids_from_input_ids`.
 */
export function buildBertForward(graph: Graph, options: BertForwardOptions): BertForwardOutputs {
  const { settings, weight } = options;
  const names = encoderNames(settings);
  const d = settings.hiddenSize;
  const heads = settings.heads;
  const headSize = d / heads;
  const [batch, sequence] = options.inputIds.shape as [number | string, number | string];
  const dropout = createDropout(graph, options.dropout);
  const batchSequenceShape = graph.shapeOf(options.inputIds);

  const positions = graph.scope('positions', () => {
    if (settings.variant === 'roberta') {
      const notPadding = graph.cast(
        graph.not(graph.equal(options.inputIds, graph.constant([settings.padTokenId], 'int64', []))),
        'int64',
      );
      const counted = graph.node('CumSum', [notPadding, graph.constant([1], 'int64', [])], {}, [
        { dtype: 'int64', shape: notPadding.shape },
      ])[0] as Value;
      return graph.add(graph.mul(counted, notPadding), graph.constant([settings.padTokenId], 'int64', []));
    }
    const sequenceLength = graph.gather(batchSequenceShape, graph.constant([1], 'int64', []), 0);
    const range = graph.node(
      'Range',
      [graph.constant([0], 'int64', []), sequenceLength, graph.constant([1], 'int64', [])],
      {},
      [{ dtype: 'int64', shape: [sequence] }],
    )[0] as Value;
    return graph.unsqueeze(range, [0]);
  });

  const layerNorm = (x: Value, path: string): Value =>
    graph.layerNormalization(x, weight(`${path}.weight`), weight(`${path}.bias`), settings.layerNormEpsilon);
  const linear = (x: Value, modulePath: string): Value => {
    const output = graph.gemm(x, weight(`${modulePath}.weight`), weight(`${modulePath}.bias`), {
      transB: true,
    });
    return addLoraAdapter(graph, x, output, modulePath, options.lora, dropout);
  };
  const activation = (x: Value): Value => buildActivation(graph, x, settings.activation);

  let hidden = graph.scope('embeddings', () => {
    let sum = graph.add(
      graph.gather(weight(`${names.wordEmbeddings}.weight`), options.inputIds),
      graph.gather(weight(`${names.positionEmbeddings}.weight`), positions),
    );
    if (names.tokenTypeEmbeddings) {
      // token_type_ids are all 0: add the first row of the token-type table.
      sum = graph.add(sum, graph.slice(weight(`${names.tokenTypeEmbeddings}.weight`), [0], [1], [0]));
    }
    const flat = graph.reshape(sum, [-1, d]);
    return dropout(layerNorm(flat, names.embeddingNorm), settings.hiddenDropout);
  });

  // Additive padding mask [batch, 1, 1, sequence].
  const maskBias = graph.scope('mask', () =>
    graph.where(
      graph.unsqueeze(graph.cast(options.attentionMask, 'bool'), [1, 2]),
      graph.scalar(0, 'float32'),
      graph.scalar(-1e9, 'float32'),
    ),
  );
  const headShape = graph.concat([batchSequenceShape, graph.int64s([heads, headSize])], 0);
  const splitHeads = (x: Value): Value => graph.reshapeLike(x, headShape, [batch, sequence, heads, headSize]);
  const scale = 1 / Math.sqrt(headSize);

  for (let index = 0; index < settings.layers; index += 1) {
    const layer = names.layer(index);
    hidden = graph.scope(`layer.${index}`, () => {
      const input = hidden;
      const attention = graph.scope('attention', () => {
        const query = graph.mul(
          graph.transpose(splitHeads(linear(input, layer.query)), [0, 2, 1, 3]),
          graph.scalar(scale, 'float32'),
        );
        const keyTransposed = graph.transpose(splitHeads(linear(input, layer.key)), [0, 2, 3, 1]);
        const value = graph.transpose(splitHeads(linear(input, layer.value)), [0, 2, 1, 3]);
        const scores = graph.add(graph.matmul(query, keyTransposed), maskBias);
        const probabilities = dropout(graph.softmax(scores, -1), settings.attentionDropout);
        const context = graph.transpose(graph.matmul(probabilities, value), [0, 2, 1, 3]);
        const projected = linear(graph.reshape(context, [-1, d]), layer.attentionOutput);
        return layerNorm(graph.add(dropout(projected, settings.hiddenDropout), input), layer.attentionNorm);
      });
      return graph.scope('ffn', () => {
        const expanded = activation(linear(attention, layer.intermediate));
        const output = dropout(linear(expanded, layer.output), settings.hiddenDropout);
        return layerNorm(graph.add(output, attention), layer.outputNorm);
      });
    });
  }

  return graph.scope('head', () => {
    const batchShape = graph.concat(
      [graph.slice(batchSequenceShape, [0], [1], [0]), graph.int64s([-1, d])],
      0,
    );
    const lastHiddenState = graph.reshapeLike(hidden, batchShape, [batch, sequence, d]);
    // The first token of each row: [batch, sequence, d] → [sequence, batch, d] → row 0 (Gather on
    // axis 0, whose gradient is a ScatterND; a Slice on the dynamic sequence axis has none).
    const sequenceFirst = graph.transpose(lastHiddenState, [1, 0, 2]);
    const first = graph.gather(sequenceFirst, graph.constant([0], 'int64', []), 0);
    if (settings.variant === 'bert') {
      const poolerOutput = graph.tanh(linear(first, 'bert.pooler.dense'));
      const logits = linear(dropout(poolerOutput, settings.classifierDropout), 'classifier');
      return { logits, lastHiddenState, poolerOutput };
    }
    if (settings.variant === 'roberta') {
      const dense = graph.tanh(linear(dropout(first, settings.classifierDropout), 'classifier.dense'));
      return {
        logits: linear(dropout(dense, settings.classifierDropout), 'classifier.out_proj'),
        lastHiddenState,
      };
    }
    const pre = graph.relu(linear(first, 'pre_classifier'));
    return { logits: linear(dropout(pre, settings.classifierDropout), 'classifier'), lastHiddenState };
  });
}
