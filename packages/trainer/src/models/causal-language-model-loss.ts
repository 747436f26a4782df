import type { Graph, Value } from '../onnx/graph.js';
import { buildChunkedHead, defaultChunkTokens } from './build-chunked-head.js';

/** Options of {@link buildCausalLanguageModelLoss}. */
export interface CausalLanguageModelLossOptions {
  /** Final hidden states `[batch·sequence, d]` (after the last norm). */
  hidden: Value;
  /** LM head weight `[vocab, d]` (the tied token embedding for GPT-2). */
  headWeight: Value;
  /**
   * Tokens per chunk of the LM head (see {@link buildChunkedHead}); default
   * {@link defaultChunkTokens} of the vocabulary (about 64 MiB of logits per chunk).
   */
  chunkTokens?: number;
  /** int64 `[batch, sequence]`, -100 = ignored. */
  labels: Value;
  /** Run-time `[batch, sequence]` (int64 vector). */
  batchSequenceShape: Value;
  /** Whether the head weight is trained (then its share of the gradient is seeded too). */
  headWeightTrainable: boolean;
  /**
   * Direct preference optimization instead of cross-entropy: the batch holds B chosen rows then
   * the B matching rejected rows, `reference` is float32 `[2B]` (each row's summed completion log
   * probability under the reference model), and the loss is
   * `mean(−log σ(β·((π_c − ref_c) − (π_r − ref_r))))` (Rafailov et al., 2023; TRL's `sigmoid` loss).
   */
  preference?: { beta: number; reference: Value };
}

/** Result of {@link buildCausalLanguageModelLoss}. */
export interface CausalLanguageModelLoss {
  /** Mean cross-entropy over counted tokens (float32 scalar). */
  loss: Value;
  /** Starting points for `addGradients({ seeds })`: d(loss)/d(hidden) and, if trained, d(loss)/d(head). */
  seeds: Array<{ value: Value; gradient: Value }>;
  /** Each row's summed log probability of its labelled tokens, float32 `[batch]`. */
  sequenceLogProbabilities: Value;
}

/**
 * Shifted causal-LM cross-entropy as Hugging Face computes it (position t predicts label t+1,
 * labels -100 ignored, mean over counted tokens), built without slicing the logits: the labels are
 * shifted instead and the last position gets -100.
 *
 * The head, the loss and the backward pass through the head are fused by hand and run over chunks
 * of tokens ({@link buildChunkedHead}), so `[tokens, vocab]` logits never exist whole: with
 * `G = softmax(logits) − onehot(labels)` per chunk and per-token weights `w = mask / count`,
 * `d(loss)/d(hidden) = w ⊙ (G·W)` and `d(loss)/d(W) = Σ_chunks Gᵀ·(w ⊙ hidden)`, so the row scaling
 * happens on `[tokens, d]` instead of `[tokens, vocab]`. The generic LogSoftmax/GatherElements
 * rules would take six passes over whole logits; onnxruntime's `SoftmaxCrossEntropyLoss` expands
 * into a function body with two full-size Transposes.
 */
export function buildCausalLanguageModelLoss(
  graph: Graph,
  options: CausalLanguageModelLossOptions,
): CausalLanguageModelLoss {
  const { hidden, headWeight, labels, batchSequenceShape } = options;
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
    // One pass over the head in chunks: log p(label) and the unscaled G·W (G = softmax − onehot);
    // with cross-entropy the weights are known up front, so the head gradient accumulates there too.
    const chunkTokens = options.chunkTokens ?? defaultChunkTokens(headWeight.shape[0] as number);
    const crossEntropyWeight = options.preference ? undefined : graph.div(mask, count);
    const head = buildChunkedHead(graph, {
      hidden,
      headWeight,
      labels: safeLabels,
      chunkTokens,
      logProbabilities: true,
      hiddenProduct: true,
      headGradientWeights: options.headWeightTrainable ? crossEntropyWeight : undefined,
    });
    const picked = head.logProbabilities as Value;
    const rows = graph.reshapeLike(graph.mul(picked, mask), batchSequenceShape, labels.shape);
    const sequenceLogProbabilities = graph.reduceSum(rows, [1], false);
    // `weight` is d(loss)/d(log p(label)) per token, negated: the loss gradient on the logits is
    // weight ⊙ (softmax − onehot).
    let loss: Value;
    let weight: Value;
    if (options.preference) {
      ({ loss, weight } = preferenceLoss(graph, sequenceLogProbabilities, mask, options.preference, {
        labels,
        batchSequenceShape,
      }));
    } else {
      weight = crossEntropyWeight as Value;
      loss = graph.neg(graph.reduceSum(graph.mul(picked, weight), undefined, false));
    }
    // Rows scaled after the head product, on [tokens, d].
    const seeds = [{ value: hidden, gradient: graph.mul(head.hiddenProduct as Value, weight) }];
    if (options.headWeightTrainable) {
      // DPO's weights depend on the whole sequences' log probabilities: a second pass over the head.
      const headGradient =
        head.headGradient ??
        (buildChunkedHead(graph, {
          hidden,
          headWeight,
          labels: safeLabels,
          chunkTokens,
          logProbabilities: false,
          hiddenProduct: false,
          headGradientWeights: weight,
        }).headGradient as Value);
      seeds.push({ value: headWeight, gradient: headGradient });
    }
    return { loss, seeds, sequenceLogProbabilities };
  });
}

/**
 * DPO's loss and per-token weights. With `z = β·((π_c − ref_c) − (π_r − ref_r))` per pair and
 * `L = mean(softplus(−z))`, `dL/dπ_c = −β·σ(−z)/B = −dL/dπ_r`; a token's weight is minus its row's
 * `dL/dπ`, masked.
 */
function preferenceLoss(
  graph: Graph,
  sequenceLogProbabilities: Value,
  mask: Value,
  preference: { beta: number; reference: Value },
  shapes: { labels: Value; batchSequenceShape: Value },
): { loss: Value; weight: Value } {
  const pairs = shapes.labels.shape[0];
  const pairCount = typeof pairs === 'number' ? pairs / 2 : `${pairs}/2`;
  const margins = graph.reshape(graph.sub(sequenceLogProbabilities, preference.reference), [2, -1]);
  const [chosen, rejected] = graph.split(margins, [1, 1], 0) as [Value, Value];
  const z = graph.mul(graph.sub(chosen, rejected), graph.scalar(preference.beta, 'float32'));
  const negated = graph.neg(z);
  const softplus = graph.node('Softplus', [negated], {}, [
    { dtype: 'float32', shape: [1, pairCount] },
  ])[0] as Value;
  const loss = graph.reduceMean(softplus, undefined, false);
  // −dL/dπ_c = β·σ(−z)/B for the chosen row and its negation for the rejected row.
  const pairTotal = graph.cast(graph.slice(graph.shapeOf(z), [1], [2], [0]), 'float32');
  const chosenWeight = graph.div(
    graph.mul(graph.sigmoid(negated), graph.scalar(preference.beta, 'float32')),
    pairTotal,
  );
  const rowWeights = graph.reshape(graph.concat([chosenWeight, graph.neg(chosenWeight)], 0), [-1, 1]);
  const tokenWeights = graph.mul(
    graph.reshapeLike(mask, shapes.batchSequenceShape, shapes.labels.shape),
    rowWeights,
  );
  return { loss, weight: graph.reshape(tokenWeights, [-1, 1]) };
}
