import { describe, expect, it } from 'vitest';
import type { Graph, Value } from '../onnx/graph.js';
import { Graph as GraphClass } from '../onnx/graph.js';
import { addGradients } from './add-gradients.js';
import { type CheckGradientsOptions, checkGradients } from './check-gradients.js';

interface Case {
  name: string;
  options: CheckGradientsOptions;
  tolerance?: number;
}

const f64 = (g: Graph, values: number[], shape: number[]) => g.constant(values, 'float64', shape);
const i64 = (g: Graph, values: number[], shape: number[]) => g.constant(values, 'int64', shape);
const unary = (name: string, op: (g: Graph, x: Value) => Value, offset = 0): Case => ({
  name,
  options: { build: (g, [x]) => op(g, x as Value), inputs: [{ shape: [2, 3], offset }] },
});
const binary = (
  name: string,
  op: (g: Graph, a: Value, b: Value) => Value,
  shapes: number[][],
  offset = 0,
): Case => ({
  name: `${name} [${shapes[0]}]·[${shapes[1]}]`,
  options: {
    build: (g, [a, b]) => op(g, a as Value, b as Value),
    inputs: shapes.map((shape) => ({ shape, offset })),
  },
});

const cases: Case[] = [
  binary('Add', (g, a, b) => g.add(a, b), [
    [2, 3],
    [2, 3],
  ]),
  binary('Add broadcast', (g, a, b) => g.add(a, b), [
    [2, 1, 3],
    [4, 1],
  ]),
  binary('Sub broadcast', (g, a, b) => g.sub(a, b), [[3], [2, 3]]),
  binary('Mul broadcast', (g, a, b) => g.mul(a, b), [
    [2, 3, 4],
    [1, 4],
  ]),
  binary('Div broadcast', (g, a, b) => g.div(a, b), [[2, 3], [3]], 2),
  binary('Pow', (g, a, b) => g.pow(a, b), [[2, 3], [3]], 1.5),
  unary('Pow constant exponent (RMSNorm square)', (g, x) => g.pow(x, f64(g, [2], []))),
  unary('Neg', (g, x) => g.neg(x)),
  unary('Sqrt', (g, x) => g.sqrt(x), 2),
  unary('Reciprocal', (g, x) => g.reciprocal(x), 2),
  unary('Exp', (g, x) => g.exp(x)),
  unary('Log', (g, x) => g.log(x), 2),
  unary('Tanh', (g, x) => g.tanh(x)),
  unary('Relu', (g, x) => g.relu(x)),
  unary('Sigmoid', (g, x) => g.sigmoid(x)),
  unary('SiLU = x·Sigmoid(x)', (g, x) => g.mul(x, g.sigmoid(x))),
  unary('Identity', (g, x) => g.identity(x)),
  unary('Softmax axis -1', (g, x) => g.softmax(x, -1)),
  unary('Softmax axis 0', (g, x) => g.softmax(x, 0)),
  unary('LogSoftmax', (g, x) => g.logSoftmax(x, -1)),
  unary('ReduceSum keepdims', (g, x) => g.reduceSum(x, [1], true)),
  unary('ReduceSum all', (g, x) => g.reduceSum(x, undefined, false)),
  unary('ReduceMean', (g, x) => g.reduceMean(x, [0], false)),
  unary('Reshape', (g, x) => g.mul(g.reshape(x, [3, -1]), f64(g, [1, 2, 3, 4, 5, 6], [3, 2]))),
  unary('Transpose', (g, x) => g.transpose(g.reshape(x, [1, 2, 3]), [2, 0, 1])),
  unary('Unsqueeze', (g, x) => g.unsqueeze(x, [0, 2])),
  unary('Squeeze', (g, x) => g.squeeze(g.reshape(x, [2, 1, 3]), [1])),
  unary('Slice', (g, x) => g.slice(x, [0, 1], [2, 3], [0, 1])),
  unary('Slice negative', (g, x) => g.slice(x, [-2], [1000], [-1])),
  unary('Split', (g, x) => {
    const [a, b] = g.split(x, [1, 2], 1);
    return g.mul(g.reduceSum(a as Value, [1], true), b as Value);
  }),
  unary('Split unused piece', (g, x) => g.split(x, [2, 1], 1)[1] as Value),
  unary('Expand', (g, x) => g.expand(g.reshape(x, [2, 1, 3]), [2, 4, 3])),
  {
    // float32 rounding makes a 1e-6 step meaningless; the function is linear, so a large step is exact.
    name: 'Cast float64→float32→float64',
    options: {
      build: (g, [x]) => g.cast(g.cast(x as Value, 'float32'), 'float64'),
      inputs: [{ shape: [2, 3] }],
      step: 0.25,
    },
    tolerance: 1e-6,
  },
  unary('Where', (g, x) => g.where(g.constant([1, 0, 1], 'bool', [3]), x, g.neg(x))),
  unary('Gather (embedding)', (g, x) => g.gather(x, i64(g, [1, 0, 1, 1], [2, 2]), 0)),
  unary('GatherElements', (g, x) => g.gatherElements(x, i64(g, [2, 0], [2, 1]), 1)),
  unary('Rotary half rotation (Mul/Slice/Concat/Neg)', (g, x) => {
    const first = g.slice(x, [0], [1], [1]);
    const second = g.slice(x, [1], [3], [1]);
    const rotated = g.concat([g.neg(second), first], 1);
    return g.add(g.mul(x, f64(g, [0.5, 0.3, 0.2], [3])), g.mul(rotated, f64(g, [0.1, 0.7, 0.9], [3])));
  }),
  unary('RMSNorm as primitives', (g, x) => {
    const variance = g.reduceMean(g.pow(x, f64(g, [2], [])), [-1], true);
    const inverse = g.reciprocal(g.sqrt(g.add(variance, f64(g, [1e-6], []))));
    return g.mul(g.mul(x, inverse), f64(g, [1, 2, 3], [3]));
  }),
  binary('MatMul 2-D', (g, a, b) => g.matmul(a, b), [
    [2, 3],
    [3, 4],
  ]),
  binary('MatMul batched × 2-D', (g, a, b) => g.matmul(a, b), [
    [2, 3, 4],
    [4, 2],
  ]),
  binary('MatMul batched × batched', (g, a, b) => g.matmul(a, b), [
    [2, 2, 3, 4],
    [2, 2, 4, 3],
  ]),
  binary('MatMul broadcast batch', (g, a, b) => g.matmul(a, b), [
    [2, 3, 4],
    [1, 4, 2],
  ]),
  ...[false, true].flatMap((transA) =>
    [false, true].map(
      (transB): Case => ({
        name: `Gemm transA=${transA} transB=${transB}`,
        options: {
          build: (g, [a, b, c]) =>
            g.gemm(a as Value, b as Value, c as Value, { transA, transB, alpha: 0.7, beta: 1.3 }),
          inputs: [{ shape: transA ? [3, 2] : [2, 3] }, { shape: transB ? [4, 3] : [3, 4] }, { shape: [4] }],
        },
      }),
    ),
  ),
  {
    name: 'Concat',
    options: {
      build: (g, [a, b]) => g.concat([a as Value, b as Value], 1),
      inputs: [{ shape: [2, 1] }, { shape: [2, 3] }],
    },
  },
  {
    name: 'Where broadcast both branches',
    options: {
      build: (g, [a, b]) => g.where(g.constant([1, 0, 0, 1, 1, 0], 'bool', [2, 3]), a as Value, b as Value),
      inputs: [{ shape: [3] }, { shape: [2, 1] }],
    },
  },
  {
    name: 'LayerNormalization (recomputed statistics in float64)',
    options: {
      build: (g, [x, scale, bias]) => g.layerNormalization(x as Value, scale as Value, bias as Value, 1e-5),
      inputs: [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }],
    },
  },
  {
    name: 'LayerNormalization float32 (saved statistics)',
    options: {
      dtype: 'float32',
      build: (g, [x, scale, bias]) => g.layerNormalization(x as Value, scale as Value, bias as Value, 1e-5),
      inputs: [{ shape: [3, 5] }, { shape: [5] }, { shape: [5] }],
    },
    tolerance: 2e-2,
  },
  {
    name: 'Erf in float32 (no float64 kernel)',
    options: { dtype: 'float32', build: (g, [x]) => g.erf(x as Value), inputs: [{ shape: [2, 3] }] },
    tolerance: 2e-2,
  },
  {
    name: 'SoftmaxCrossEntropyLoss mean with ignore_index',
    options: {
      build: (g, [x]) =>
        g.softmaxCrossEntropyLoss(x as Value, i64(g, [2, -100, 0, 1], [4]), { ignoreIndex: -100 }),
      inputs: [{ shape: [4, 3] }],
    },
  },
  {
    name: 'SoftmaxCrossEntropyLoss sum',
    options: {
      build: (g, [x]) => g.softmaxCrossEntropyLoss(x as Value, i64(g, [2, 1], [2]), { reduction: 'sum' }),
      inputs: [{ shape: [2, 3] }],
    },
  },
  {
    name: 'Dropout (training mode, mask reused)',
    options: {
      // The check compares d/dx of y = x·mask/(1−p) against differences over several runs: a
      // seeded Dropout draws a new mask every run, so this case uses ratio 0 (mask all ones) to keep
      // the function fixed; the scaling by 1/(1−p) is checked in the next test.
      build: (g, [x]) => g.dropout(x as Value, 0, 3).output,
      inputs: [{ shape: [2, 3] }],
    },
  },
];

describe('gradient rules against central finite differences (float64)', () => {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const { relativeErrors } = await checkGradients(testCase.options);
      for (const error of relativeErrors) expect(error).toBeLessThan(testCase.tolerance ?? 1e-6);
    });
  }
});

describe('addGradients', () => {
  it('Dropout gradient is mask·dy/(1−p) with the mask of the same run', async () => {
    const ort = await import('onnxruntime-node');
    const { serializeModel } = await import('../onnx/serialize-model.js');
    const g = new GraphClass();
    const x = g.input('x', 'float32', [64]);
    const { output, mask } = g.dropout(x, 0.25, 11);
    const loss = g.reduceSum(output, undefined, false);
    g.output(loss, 'loss');
    g.output(g.identity(mask), 'mask');
    g.output(addGradients(g, { loss, wrt: [x] }).get('x') as Value, 'dx');
    const session = await ort.InferenceSession.create(serializeModel(g).model);
    const result = await session.run({ x: new ort.Tensor('float32', new Float32Array(64).fill(1), [64]) });
    const maskData = result.mask?.data as Uint8Array;
    const dx = result.dx?.data as Float32Array;
    expect(maskData.some((value) => value === 0)).toBe(true);
    for (let index = 0; index < 64; index += 1) {
      expect(dx[index]).toBeCloseTo(maskData[index] ? 1 / 0.75 : 0, 6);
    }
  });

  it('prunes frozen branches: no gradient nodes for inputs that do not need one', () => {
    const g = new GraphClass();
    const x = g.input('x', 'float32', [2, 3]);
    const frozen = g.initializer('frozen', 'float32', [3, 3], new Float32Array(9));
    const unused = g.input('unused', 'float32', [2, 3]);
    const hidden = g.matmul(x, frozen);
    g.output(g.tanh(unused));
    const loss = g.reduceSum(hidden, undefined, false);
    const before = g.nodes.length;
    addGradients(g, { loss, wrt: [x] });
    const added = g.nodes.slice(before);
    expect(added.some((node) => node.opType === 'Tanh')).toBe(false);
    // Only dx = dy·Wᵀ (one Gemm); no gradient for the frozen weight (which would be a second Gemm).
    expect(added.filter((node) => node.opType === 'Gemm')).toHaveLength(1);
  });

  it('fails with a coded error for an operator without a rule', () => {
    const g = new GraphClass();
    const x = g.input('x', 'float32', [2]);
    const [y] = g.node('Abs', [x], {}, [{ dtype: 'float32', shape: [2] }]);
    const loss = g.reduceSum(y as Value, undefined, false);
    expect(() => addGradients(g, { loss, wrt: [x] })).toThrow(/No gradient rule for operator Abs/);
  });
});
