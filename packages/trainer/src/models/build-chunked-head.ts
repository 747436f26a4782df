import { Graph, type Value } from '../onnx/graph.js';
import { halfPrecisionOperand } from '../onnx/half-precision-operand.js';

/** Options of {@link buildChunkedHead}. */
export interface ChunkedHeadOptions {
  /** Final hidden states `[tokens, d]`. */
  hidden: Value;
  /** LM head weight `[vocab, d]`. */
  headWeight: Value;
  /** int64 `[tokens, 1]` label of each token (ignored tokens: any valid id, weighted 0). */
  labels: Value;
  /** Tokens per chunk: each chunk's logits are `[chunkTokens, vocab]`. */
  chunkTokens: number;
  /** Output each token's `log p(label)` (`[tokens, 1]`). */
  logProbabilities: boolean;
  /** Output `(softmax − onehot)·W` per token (`[tokens, d]`, rows not yet scaled). */
  hiddenProduct: boolean;
  /**
   * Per-token weights `[tokens, 1]`: when given, output `Σ_chunks (softmax − onehot)ᵀ·(w ⊙ hidden)`,
   * the head weight's gradient `[vocab, d]`.
   */
  headGradientWeights?: Value;
}

/** Outputs of {@link buildChunkedHead} (those requested). */
export interface ChunkedHead {
  logProbabilities?: Value;
  hiddenProduct?: Value;
  headGradient?: Value;
}

/**
 * The LM head and its cross-entropy pieces over chunks of tokens, so that `[tokens, vocab]` logits
 * never exist whole (Liger Kernel's fused linear cross-entropy, as an ONNX `Loop`): the tokens are
 * split into ceil(tokens / chunkTokens) equal chunks (the last padded with fewer rows than there
 * are chunks) and each iteration computes one chunk's logits
 * `Gemm(h, W, transB=1)`, `LogSoftmax`, the labels' log probabilities, `G = exp(logSoftmax) − onehot`
 * (`ScatterElements` add), `G·W` and, when asked, accumulates `Gᵀ·(w ⊙ h)` into the head gradient.
 * Peak memory of the head is O(chunkTokens × vocab) instead of several `[tokens, vocab]` tensors.
 * The loop body reads `hidden` and `W` from the outer scope (no copies). Under mixed precision
 * (`graph.matrixPrecision`) `W` is cast to half precision once, outside the loop (a frozen half
 * weight is read as it is stored), the chunk's two products run in half precision and the
 * log-softmax, `G` and the log probabilities stay float32 (as autocast runs `cross_entropy`).
 */
export function buildChunkedHead(graph: Graph, options: ChunkedHeadOptions): ChunkedHead {
  const { hidden, headWeight, labels, chunkTokens } = options;
  const [vocabulary, width] = headWeight.shape as [number, number];
  return graph.scope('chunked_head', () => {
    const tokens = graph.slice(graph.shapeOf(hidden), [0], [1], [0]);
    // ceil(tokens / chunkTokens) iterations of ceil(tokens / iterations) tokens: fewer than
    // `iterations` padding rows, so a short batch is not padded up to a whole chunk.
    const ceilDivide = (a: Value, b: Value) => graph.div(graph.sub(graph.add(a, b), graph.int64s([1])), b);
    const iterations = ceilDivide(tokens, graph.int64s([chunkTokens]));
    const chunk = ceilDivide(tokens, iterations);
    const padding = graph.sub(graph.mul(iterations, chunk), tokens);
    const paddedTokens = graph.unknownDimension();
    // Concat with zero rows (onnxruntime's CUDA Pad has no int64 kernel, Concat has).
    const pad = (value: Value) => {
      const zeros = graph.node(
        'ConstantOfShape',
        [graph.concat([padding, graph.int64s([value.shape[1] as number])], 0)],
        { value: { tensor: 0, dtype: value.dtype } },
        [{ dtype: value.dtype, shape: [graph.unknownDimension(), value.shape[1] as number] }],
      )[0] as Value;
      return graph.node('Concat', [value, zeros], { axis: 0 }, [
        { dtype: value.dtype, shape: [paddedTokens, value.shape[1] as number] },
      ])[0] as Value;
    };
    const paddedHidden = pad(hidden);
    const paddedLabels = pad(labels);
    const paddedWeights = options.headGradientWeights ? pad(options.headGradientWeights) : undefined;
    const accumulate = paddedWeights !== undefined;

    // Under mixed precision: W in half precision once per step, not once per chunk.
    const productWeight = halfPrecisionOperand(graph, headWeight);
    const body = new Graph({
      name: graph.uniqueName('chunked_head_body'),
      opset: graph.opset,
      matrixPrecision: graph.matrixPrecision,
    });
    const scope = graph.uniqueName('chunked_head_body');
    const bodyOutputs = body.scope(scope, () => {
      const iteration = body.input(body.uniqueName('iteration'), 'int64', []);
      const conditionIn = body.input(body.uniqueName('condition'), 'bool', []);
      const accumulated = accumulate
        ? body.input(body.uniqueName('head_gradient'), 'float32', [vocabulary, width])
        : undefined;
      const size = body.outerValue(chunk);
      const start = body.mul(body.unsqueeze(iteration, [0]), size);
      const end = body.add(start, size);
      const rows = body.unknownDimension();
      const take = (value: Value) =>
        body.node('Slice', [body.outerValue(value), start, end, body.int64s([0])], {}, [
          { dtype: value.dtype, shape: [rows, value.shape[1] as number] },
        ])[0] as Value;
      const h = take(paddedHidden);
      const y = take(paddedLabels);
      const weight = body.outerValue(productWeight);
      const logits = body.gemm(h, weight, undefined, { transB: true });
      const logSoftmax = body.logSoftmax(logits, -1);
      const centered = body.node(
        'ScatterElements',
        [body.exp(logSoftmax), y, body.expandLike(body.scalar(-1, 'float32'), y)],
        { axis: 1, reduction: 'add' },
        [{ dtype: 'float32', shape: [rows, vocabulary] }],
      )[0] as Value;
      const outputs: Value[] = [body.identity(conditionIn)];
      if (accumulated && paddedWeights) {
        const scaled = body.mul(h, take(paddedWeights));
        outputs.push(
          body.node('Gemm', [centered, scaled, accumulated], { transA: 1 }, [
            { dtype: 'float32', shape: [vocabulary, width] },
          ])[0] as Value,
        );
      }
      if (options.logProbabilities) outputs.push(body.gatherElements(logSoftmax, y, 1));
      if (options.hiddenProduct) outputs.push(body.gemm(centered, weight));
      return outputs;
    });
    for (const output of bodyOutputs) body.output(output);

    const initial = accumulate
      ? [
          graph.node(
            'ConstantOfShape',
            [graph.shapeOf(headWeight)],
            { value: { tensor: 0, dtype: 'float32' } },
            [{ dtype: 'float32', shape: [vocabulary, width] }],
          )[0] as Value,
        ]
      : [];
    const tripCount = graph.reshape(iterations, []);
    const chunks = graph.unknownDimension();
    const rowsPerChunk = graph.unknownDimension();
    const outputTypes = [
      ...(accumulate ? [{ dtype: 'float32' as const, shape: [vocabulary, width] }] : []),
      ...(options.logProbabilities ? [{ dtype: 'float32' as const, shape: [chunks, rowsPerChunk, 1] }] : []),
      ...(options.hiddenProduct ? [{ dtype: 'float32' as const, shape: [chunks, rowsPerChunk, width] }] : []),
    ];
    const results = graph.node('Loop', [tripCount, '', ...initial], { body: { graph: body } }, outputTypes);
    let index = 0;
    const result: ChunkedHead = {};
    // Stacked `[chunks, chunkTokens, n]` → `[tokens, n]` without the padding rows.
    const unpad = (stacked: Value, columns: number) => {
      const flat = graph.reshape(stacked, [-1, columns]);
      return graph.node('Slice', [flat, graph.int64s([0]), tokens, graph.int64s([0])], {}, [
        { dtype: 'float32', shape: [hidden.shape[0] as number | string, columns] },
      ])[0] as Value;
    };
    if (accumulate) result.headGradient = results[index++];
    if (options.logProbabilities) result.logProbabilities = unpad(results[index++] as Value, 1);
    if (options.hiddenProduct) result.hiddenProduct = unpad(results[index++] as Value, width);
    return result;
  });
}

/**
 * Tokens per head chunk for a vocabulary: about 16 Mi logits (64 MiB of float32) per chunk, a
 * multiple of 16 between 16 and 4,096.
 */
export function defaultChunkTokens(vocabularySize: number): number {
  const tokens = Math.floor((16 * 2 ** 20) / vocabularySize / 16) * 16;
  return Math.min(4096, Math.max(16, tokens));
}
