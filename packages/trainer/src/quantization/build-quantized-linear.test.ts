import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuantizationConfigSchema } from '@tunekit/core';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { addGradients } from '../autodiff/add-gradients.js';
import { createNormalSampler } from '../models/create-normal-sampler.js';
import { Graph, type Value } from '../onnx/graph.js';
import { serializeModel } from '../onnx/serialize-model.js';
import { relativeError } from '../testing/relative-error.js';
import { buildQuantizedLinear, matMulNBits } from './build-quantized-linear.js';
import { declareInt4BlockMatrix, declareQuantizedLinears } from './declare-quantized-linears.js';
import { dequantizeInt4Blocks, quantizeInt4Blocks } from './quantize-int4-blocks.js';
import { quantizeLinearWeights } from './quantize-linear-weights.js';

const rows = 5;
const inFeatures = 64;
const outFeatures = 48;

function sample(length: number, seed: number, scale = 1): Float32Array {
  const normal = createNormalSampler(seed);
  return Float32Array.from({ length }, () => normal() * scale);
}

/** `a` `[m, k]` times `b` `[k, n]` (or `bᵀ` when `b` is `[n, k]`), in float64. */
function multiply(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transposeB: boolean) {
  const result = new Float64Array(m * n);
  for (let i = 0; i < m; i += 1) {
    for (let j = 0; j < n; j += 1) {
      let sum = 0;
      for (let l = 0; l < k; l += 1) {
        sum += (a[i * k + l] as number) * (transposeB ? (b[j * k + l] as number) : (b[l * n + j] as number));
      }
      result[i * n + j] = sum;
    }
  }
  return result;
}

async function runLinear(backward: 'dequantize' | 'transposed-copy', layout: 'out-in' | 'in-out') {
  const ort = await import('onnxruntime-node');
  const config = QuantizationConfigSchema.parse({ bits: 4, blockSize: 16, backward });
  const weight = sample(outFeatures * inFeatures, 1, 0.05);
  const shape = layout === 'out-in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
  const modulePath = 'layers.0.proj';
  const { weights, linears } = quantizeLinearWeights(
    new Map([[`${modulePath}.weight`, { shape, data: weight }]]),
    [{ modulePath, inFeatures, outFeatures }],
    layout,
    config,
  );
  expect(weights.size).toBe(0);
  const graph = new Graph({ name: 'quantized-linear' });
  const x = graph.input('x', 'float32', [rows, inFeatures]);
  const dy = graph.input('dy', 'float32', [rows, outFeatures]);
  const linear = declareQuantizedLinears(graph, linears).get(modulePath);
  const y = buildQuantizedLinear(graph, x, linear as NonNullable<typeof linear>);
  graph.output(y, 'y');
  const dx = addGradients(graph, { loss: y, seed: dy, wrt: [x] }).get('x') as Value;
  graph.output(dx, 'dx');
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-quantized-linear-'));
  try {
    const optimizedModelFilePath = join(directory, 'optimized.onnx');
    const session = await ort.InferenceSession.create(serializeModel(graph).model, {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath,
      logSeverityLevel: 3,
    });
    const xData = sample(rows * inFeatures, 2);
    const dyData = sample(rows * outFeatures, 3);
    const result = await session.run({
      x: new ort.Tensor('float32', xData, [rows, inFeatures]),
      dy: new ort.Tensor('float32', dyData, [rows, outFeatures]),
    });
    const onnx = (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
    const optimized = onnx.ModelProto.decode(await readFile(optimizedModelFilePath));
    const dequantized = dequantizeInt4Blocks(linears.get(modulePath)?.weight as never);
    return {
      y: result.y?.data as Float32Array,
      dx: result.dx?.data as Float32Array,
      expectedY: multiply(xData, dequantized, rows, inFeatures, outFeatures, true),
      expectedDx: multiply(dyData, dequantized, rows, outFeatures, inFeatures, false),
      initializers: (optimized.graph?.initializer ?? []).map((tensor) => ({
        name: tensor.name as string,
        dataType: tensor.dataType as number,
        size: (tensor.dims ?? []).reduce<number>((product, size) => product * Number(size), 1),
      })),
      opTypes: (optimized.graph?.node ?? []).map((node) => node.opType),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

describe('buildQuantizedLinear', () => {
  it.each(['out-in', 'in-out'] as const)(
    'forward MatMulNBits equals x·dequant(W)ᵀ, backward dequantize equals dy·dequant(W) (%s layout)',
    async (layout) => {
      const run = await runLinear('dequantize', layout);
      expect(relativeError(run.y, run.expectedY)).toBeLessThan(1e-6);
      expect(relativeError(run.dx, run.expectedDx)).toBeLessThan(1e-6);
      expect(run.opTypes).toContain('MatMulNBits');
      // Constant folding did not turn the dequantization into a float initializer.
      const floats = run.initializers.filter((tensor) => tensor.dataType === 1);
      expect(Math.max(...floats.map((tensor) => tensor.size))).toBeLessThan(outFeatures * inFeatures);
    },
  );

  it('backward transposed-copy: MatMulNBits on the requantized Wᵀ, a few percent from dy·dequant(W)', async () => {
    const run = await runLinear('transposed-copy', 'out-in');
    expect(relativeError(run.y, run.expectedY)).toBeLessThan(1e-6);
    const difference = relativeError(run.dx, run.expectedDx);
    expect(difference).toBeGreaterThan(1e-3);
    expect(difference).toBeLessThan(0.15);
    expect(run.opTypes.filter((opType) => opType === 'MatMulNBits')).toHaveLength(2);
    expect(
      run.initializers.every((tensor) => tensor.dataType !== 1 || tensor.size < outFeatures * inFeatures),
    ).toBe(true);
    console.info(
      `transposed-copy backward: ‖dx − dy·dequant(W)‖/‖dy·dequant(W)‖ = ${difference.toExponential(2)}`,
    );
  });

  it('the MatMulNBits gradient rule differentiates a raw MatMulNBits node with a 3-D input', async () => {
    const ort = await import('onnxruntime-node');
    const weight = sample(outFeatures * inFeatures, 4, 0.05);
    const matrix = quantizeInt4Blocks(weight, outFeatures, inFeatures, 32);
    const graph = new Graph({ name: 'matmul-nbits-rule' });
    const x = graph.input('x', 'float32', [2, 3, inFeatures]);
    const dy = graph.input('dy', 'float32', [2, 3, outFeatures]);
    const y = matMulNBits(graph, x, declareInt4BlockMatrix(graph, 'w', matrix));
    expect(y.shape).toEqual([2, 3, outFeatures]);
    graph.output(y, 'y');
    graph.output(addGradients(graph, { loss: y, seed: dy, wrt: [x] }).get('x') as Value, 'dx');
    const session = await ort.InferenceSession.create(serializeModel(graph).model);
    const xData = sample(6 * inFeatures, 5);
    const dyData = sample(6 * outFeatures, 6);
    const result = await session.run({
      x: new ort.Tensor('float32', xData, [2, 3, inFeatures]),
      dy: new ort.Tensor('float32', dyData, [2, 3, outFeatures]),
    });
    const dequantized = dequantizeInt4Blocks(matrix);
    expect(result.dx?.dims).toEqual([2, 3, inFeatures]);
    expect(
      relativeError(
        result.y?.data as Float32Array,
        multiply(xData, dequantized, 6, inFeatures, outFeatures, true),
      ),
    ).toBeLessThan(1e-6);
    expect(
      relativeError(
        result.dx?.data as Float32Array,
        multiply(dyData, dequantized, 6, outFeatures, inFeatures, false),
      ),
    ).toBeLessThan(1e-6);
  });
});
