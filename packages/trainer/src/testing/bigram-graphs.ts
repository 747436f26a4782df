import onnxProto from 'onnx-proto';
import type { TrainingGraph } from '../models/model-architecture.js';

/**
 * Test fixtures: a bigram language model (logits of the next token = row `W[token]`) as a
 * training graph with a hand-written gradient, and as a KV-cache inference graph. Small and fast,
 * they let the training loop and the generator be tested without the GPT-2 builders.
 */

const { onnx } = onnxProto;
const { FLOAT, INT64 } = onnx.TensorProto.DataType;

type Dimension = number | string;
const valueInfo = (name: string, elemType: number, dims: Dimension[]) => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
    },
  },
});
const int64Constant = (name: string, values: number[]) => ({
  name,
  dataType: INT64,
  dims: [values.length],
  int64Data: values,
});
const floatConstant = (name: string, values: number[], dims: number[]) => ({
  name,
  dataType: FLOAT,
  dims,
  floatData: values,
});
const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({
  opType,
  input,
  output,
  attribute,
});
const intAttribute = (name: string, value: number) => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i: value,
});
const intsAttribute = (name: string, values: number[]) => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints: values,
});

function encode(graph: object): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph }),
  ).finish();
}

/**
 * Bigram training graph: inputs `input_ids`, `attention_mask`, `labels` (shifted inside, `-100`
 * ignored) and the trainable `W [vocab, vocab]`; outputs `loss` and `grad.W`. With `poison`, the
 * loss is multiplied by a constant input `poison` (feed Infinity to provoke non-finite steps).
 */
export function bigramTrainingGraph(vocab: number, initial?: Float32Array): TrainingGraph {
  const nodes = [
    node('Gather', ['W', 'input_ids'], ['logits']),
    node('Slice', ['logits', 'zero', 'minusOne', 'one'], ['logits_s']),
    node('Slice', ['labels', 'one', 'big', 'one'], ['labels_s']),
    node('Slice', ['input_ids', 'zero', 'minusOne', 'one'], ['ids_s']),
    node('Transpose', ['logits_s'], ['logits_t'], [intsAttribute('perm', [0, 2, 1])]),
    node(
      'SoftmaxCrossEntropyLoss',
      ['logits_t', 'labels_s'],
      ['loss', 'log_prob'],
      [intAttribute('ignore_index', -100)],
    ),
    node('Exp', ['log_prob'], ['prob_t']),
    node('Transpose', ['prob_t'], ['prob'], [intsAttribute('perm', [0, 2, 1])]),
    node('Equal', ['labels_s', 'ignore'], ['is_ignored']),
    node('Not', ['is_ignored'], ['is_valid']),
    node('Cast', ['is_valid'], ['valid'], [intAttribute('to', FLOAT)]),
    node('ReduceSum', ['valid'], ['count'], [intAttribute('keepdims', 0)]),
    node('Max', ['labels_s', 'zeroScalar'], ['labels_clamped']),
    node('OneHot', ['labels_clamped', 'depth', 'onOff'], ['target']),
    node('Sub', ['prob', 'target'], ['difference']),
    node('Unsqueeze', ['valid', 'minusOne'], ['valid_3d']),
    node('Mul', ['difference', 'valid_3d'], ['masked']),
    node('Div', ['masked', 'count'], ['grad_logits']),
    node('OneHot', ['ids_s', 'depth', 'onOff'], ['ids_hot']),
    node('Reshape', ['ids_hot', 'flat'], ['ids_flat']),
    node('Reshape', ['grad_logits', 'flat'], ['grad_flat']),
    node('Transpose', ['ids_flat'], ['ids_flat_t']),
    node('MatMul', ['ids_flat_t', 'grad_flat'], ['grad.W']),
  ];
  const model = encode({
    name: 'bigram-training',
    node: nodes,
    initializer: [
      int64Constant('zero', [0]),
      int64Constant('one', [1]),
      int64Constant('minusOne', [-1]),
      int64Constant('big', [2 ** 31 - 1]),
      { name: 'ignore', dataType: INT64, dims: [], int64Data: [-100] },
      { name: 'zeroScalar', dataType: INT64, dims: [], int64Data: [0] },
      { name: 'depth', dataType: INT64, dims: [], int64Data: [vocab] },
      floatConstant('onOff', [0, 1], [2]),
      int64Constant('flat', [-1, vocab]),
    ],
    input: [
      valueInfo('input_ids', INT64, ['batch', 'sequence']),
      valueInfo('attention_mask', INT64, ['batch', 'sequence']),
      valueInfo('labels', INT64, ['batch', 'sequence']),
      valueInfo('W', FLOAT, [vocab, vocab]),
    ],
    output: [valueInfo('loss', FLOAT, []), valueInfo('grad.W', FLOAT, [vocab, vocab])],
  });
  const start = initial ?? new Float32Array(vocab * vocab).map((_, index) => Math.sin(index) * 0.01);
  return {
    model,
    inputNames: { inputIds: 'input_ids', attentionMask: 'attention_mask', labels: 'labels' },
    parameters: [
      { name: 'W', inputName: 'W', gradientName: 'grad.W', shape: [vocab, vocab], initial: start },
    ],
    lossName: 'loss',
  };
}

/**
 * Bigram inference graph with the KV-cache interface (1 layer, 1 head, head size 1): `logits =
 * W[input_ids]`; `present.0.key|value` = past concatenated with the new token ids as floats.
 * `W` is embedded as an initializer.
 */
export function bigramInferenceGraph(vocab: number, weights: Float32Array): Uint8Array {
  return encode({
    name: 'bigram-inference',
    node: [
      node('Gather', ['W', 'input_ids'], ['logits']),
      node('Cast', ['input_ids'], ['ids_float'], [intAttribute('to', FLOAT)]),
      node('Unsqueeze', ['ids_float', 'axes'], ['new_kv']),
      node('Concat', ['past_key_values.0.key', 'new_kv'], ['present.0.key'], [intAttribute('axis', 2)]),
      node('Concat', ['past_key_values.0.value', 'new_kv'], ['present.0.value'], [intAttribute('axis', 2)]),
    ],
    initializer: [
      { name: 'W', dataType: FLOAT, dims: [vocab, vocab], floatData: [...weights] },
      int64Constant('axes', [1, 3]),
    ],
    input: [
      valueInfo('input_ids', INT64, [1, 'sequence']),
      valueInfo('attention_mask', INT64, [1, 'total']),
      valueInfo('position_ids', INT64, [1, 'sequence']),
      valueInfo('past_key_values.0.key', FLOAT, [1, 1, 'past', 1]),
      valueInfo('past_key_values.0.value', FLOAT, [1, 1, 'past', 1]),
    ],
    output: [
      valueInfo('logits', FLOAT, [1, 'sequence', vocab]),
      valueInfo('present.0.key', FLOAT, [1, 1, 'total', 1]),
      valueInfo('present.0.value', FLOAT, [1, 1, 'total', 1]),
    ],
  });
}
