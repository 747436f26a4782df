/**
 * Which operators of the training graphs onnxruntime-node's CPU execution provider runs in float16
 * and bfloat16: `npx tsx bench/half-precision-kernels.ts` builds a one-node model per operator and
 * element type, opens it (graph optimizations off, so no fusion hides a missing kernel), runs it and
 * prints one JSON line per case: `runs` true, or the error onnxruntime gave (typically
 * `NOT_IMPLEMENTED: Could not find an implementation for <Op>`). Facts for docs/performance.md
 * ("Mixed precision"). Also reports the float16 MatMul speed next to float32 where both run.
 */
import { createRequire } from 'node:module';
import { loadOnnxRuntime } from '@tunekit/trainer';
import type { onnx as OnnxNamespace } from 'onnx-proto';

const onnx = (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
const ort = await loadOnnxRuntime();
const FLOAT16 = 10;
const BFLOAT16 = 16;
const FLOAT = 1;

interface Case {
  op: string;
  domain?: string;
  /** Input shapes (all of the tested element type unless `int64` lists an index). */
  inputs: number[][];
  int64?: number[];
  attributes?: Record<string, number>;
  outputs?: number;
}

const cases: Case[] = [
  {
    op: 'MatMul',
    inputs: [
      [64, 64],
      [64, 64],
    ],
  },
  {
    op: 'Gemm',
    inputs: [
      [64, 64],
      [64, 64],
    ],
    attributes: { transB: 1 },
  },
  {
    op: 'Add',
    inputs: [
      [64, 64],
      [64, 64],
    ],
  },
  {
    op: 'Mul',
    inputs: [
      [64, 64],
      [64, 64],
    ],
  },
  {
    op: 'Sub',
    inputs: [
      [64, 64],
      [64, 64],
    ],
  },
  {
    op: 'Div',
    inputs: [
      [64, 64],
      [64, 64],
    ],
  },
  { op: 'Sqrt', inputs: [[64, 64]] },
  { op: 'Exp', inputs: [[64, 64]] },
  { op: 'Neg', inputs: [[64, 64]] },
  { op: 'Sigmoid', inputs: [[64, 64]] },
  { op: 'Tanh', inputs: [[64, 64]] },
  { op: 'Softmax', inputs: [[64, 64]], attributes: { axis: -1 } },
  { op: 'LogSoftmax', inputs: [[64, 64]], attributes: { axis: -1 } },
  { op: 'ReduceMean', inputs: [[64, 64]], attributes: { keepdims: 1 } },
  { op: 'ReduceSum', inputs: [[64, 64]], attributes: { keepdims: 1 } },
  { op: 'Transpose', inputs: [[64, 32]] },
  { op: 'LayerNormalization', inputs: [[64, 64], [64], [64]], attributes: { axis: -1 } },
  { op: 'SimplifiedLayerNormalization', inputs: [[64, 64], [64]], attributes: { axis: -1 } },
  {
    op: 'FusedMatMul',
    domain: 'com.microsoft',
    inputs: [
      [64, 64],
      [64, 64],
    ],
    attributes: { transB: 1 },
  },
  { op: 'Gather', inputs: [[64, 64], [8]], int64: [1] },
  {
    op: 'GatherElements',
    inputs: [
      [64, 64],
      [64, 1],
    ],
    int64: [1],
    attributes: { axis: 1 },
  },
  { op: 'Cast', inputs: [[64, 64]] },
];

/**
 * One `<Op>` node on `elementType`, fed float32 (and int64) inputs cast inside the graph and its
 * output cast back to float32, so that only the kernels decide (onnxruntime-node cannot feed
 * bfloat16 tensors from JavaScript).
 */
function model(test: Case, elementType: number): Uint8Array {
  const int = (name: string, i: number) =>
    onnx.AttributeProto.create({ name, i, type: onnx.AttributeProto.AttributeType.INT });
  const nodes: OnnxNamespace.INodeProto[] = [];
  const inputs = test.inputs.map((shape, index) => {
    const isIndex = test.int64?.includes(index) ?? false;
    if (!isIndex) {
      nodes.push(
        onnx.NodeProto.create({
          opType: 'Cast',
          input: [`x${index}`],
          output: [`c${index}`],
          attribute: [int('to', elementType)],
        }),
      );
    }
    return onnx.ValueInfoProto.create({
      name: `x${index}`,
      type: {
        tensorType: {
          elemType: isIndex ? 7 : FLOAT,
          shape: { dim: shape.map((dimValue) => ({ dimValue })) },
        },
      },
    });
  });
  const attributes = Object.entries(test.attributes ?? {}).map(([name, i]) => int(name, i));
  if (test.op === 'Cast') attributes.push(int('to', elementType));
  nodes.push(
    onnx.NodeProto.create({
      opType: test.op,
      domain: test.domain ?? '',
      input: test.inputs.map((_, index) => (test.int64?.includes(index) ? `x${index}` : `c${index}`)),
      output: ['y'],
      attribute: attributes,
    }),
  );
  nodes.push(
    onnx.NodeProto.create({ opType: 'Cast', input: ['y'], output: ['z'], attribute: [int('to', FLOAT)] }),
  );
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: 'probe',
        node: nodes,
        input: inputs,
        output: [onnx.ValueInfoProto.create({ name: 'z' })],
      },
    }),
  ).finish();
}

function feeds(test: Case) {
  return Object.fromEntries(
    test.inputs.map((shape, index) => {
      const size = shape.reduce((a, b) => a * b, 1);
      if (test.int64?.includes(index))
        return [`x${index}`, new ort.Tensor('int64', new BigInt64Array(size), shape)];
      return [`x${index}`, new ort.Tensor('float32', new Float32Array(size).fill(0.5), shape)];
    }),
  );
}

for (const test of cases) {
  for (const [type, elementType] of [
    ['float16', FLOAT16],
    ['bfloat16', BFLOAT16],
  ] as const) {
    let result: string | true;
    try {
      const session = await ort.InferenceSession.create(model(test, elementType), {
        graphOptimizationLevel: 'disabled',
        executionProviders: ['cpu'],
      });
      await session.run(feeds(test));
      await session.release();
      result = true;
    } catch (error) {
      result = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 160) ?? '';
    }
    console.log(
      JSON.stringify({
        figure: 'cpu-half-precision-kernel',
        op: test.op,
        type,
        runs: result === true,
        error: result === true ? undefined : result,
      }),
    );
  }
}

/** float16 against float32 MatMul speed on the CPU (2048², best of 5). */
for (const [type, elementType] of [
  ['float32', FLOAT],
  ['float16', FLOAT16],
] as const) {
  const size = 1024;
  const test: Case = {
    op: 'MatMul',
    inputs: [
      [size, size],
      [size, size],
    ],
  };
  const session = await ort.InferenceSession.create(model(test, elementType), {
    executionProviders: ['cpu'],
  });
  const input = feeds(test);
  let best = Number.POSITIVE_INFINITY;
  for (let repeat = 0; repeat < 5; repeat += 1) {
    const started = performance.now();
    await session.run(input);
    best = Math.min(best, performance.now() - started);
  }
  await session.release();
  console.log(
    JSON.stringify({
      figure: 'cpu-matmul-gflop-per-s',
      type,
      size,
      value: Math.round((2 * size ** 3) / (best * 1e6)),
      note: 'includes the two input casts and the output cast',
    }),
  );
}

/**
 * Does the CPU provider really compute a float16 MatMul in float16? `Cast(x → float16) · Cast(w →
 * float16)` cast back to float32, with x = [1e6, 1.0001, 3, 4] and w = 1000·I: in float16, 1e6 is
 * infinite and 1.0001 rounds to 1, so a float16 product gives [inf, 1000, 3000, 4000]. onnxruntime's
 * CPU provider has no float16 MatMul kernel on x86: it inserts casts to float32 around the node and
 * removes the Cast pairs that result, so the product comes out exact in float32.
 */
{
  const test: Case = {
    op: 'MatMul',
    inputs: [
      [2, 2],
      [2, 2],
    ],
  };
  for (const level of ['disabled', 'all'] as const) {
    const session = await ort.InferenceSession.create(model(test, FLOAT16), {
      graphOptimizationLevel: level,
      executionProviders: ['cpu'],
    });
    const output = await session.run({
      x0: new ort.Tensor('float32', Float32Array.of(1e6, 1.0001, 3, 4), [2, 2]),
      x1: new ort.Tensor('float32', Float32Array.of(1000, 0, 0, 1000), [2, 2]),
    });
    await session.release();
    const values = Array.from(output.z?.data as Float32Array);
    console.log(
      JSON.stringify({
        figure: 'cpu-float16-matmul-rounds-to-float16',
        optimization: level,
        value: !Number.isFinite(values[0] as number) && values[1] === 1000,
        values,
        float16Expected: [null, 1000, 3000, 4000],
      }),
    );
  }
}
