import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import type { Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { readSafetensors } from '../safetensors/safetensors-file.js';
import { gpt2Architecture } from './gpt2/gpt2-architecture.js';
import { llamaArchitecture, qwen2Architecture } from './llama/llama-architecture.js';
import type { ModelArchitecture, TrainingGraph } from './model-architecture.js';

const onnx = (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
const here = fileURLToPath(new URL('.', import.meta.url));
const FLOAT = 1;
const FLOAT16 = 10;

interface Manifest {
  config: Record<string, unknown>;
  lora: Record<string, unknown>;
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}

const cases = [
  ['gpt2', gpt2Architecture, join(here, 'gpt2/fixtures')],
  ['llama', llamaArchitecture, join(here, 'llama/fixtures/llama')],
  ['qwen2', qwen2Architecture, join(here, 'llama/fixtures/qwen2')],
] as const;

/**
 * Element type of every value of a serialized graph: inputs and initializers as declared, node
 * outputs propagated (Cast: its `to`; comparisons bool; Shape int64; ConstantOfShape its value's
 * type; Where its second input; Loop its body's outputs; others their first input's).
 */
function elementTypes(
  graph: OnnxNamespace.IGraphProto,
  outer: ReadonlyMap<string, number> = new Map(),
): Map<string, number> {
  const types = new Map(outer);
  for (const input of graph.input ?? []) types.set(input.name ?? '', input.type?.tensorType?.elemType ?? 0);
  for (const initializer of graph.initializer ?? [])
    types.set(initializer.name ?? '', initializer.dataType ?? 0);
  for (const node of graph.node ?? []) {
    const attribute = (name: string) => node.attribute?.find((candidate) => candidate.name === name);
    const first = types.get(node.input?.[0] ?? '') ?? 0;
    let outputs: number[];
    if (node.opType === 'Loop') {
      const body = attribute('body')?.g ?? {};
      outputs = (body.output ?? []).slice(1).map((output) => output.type?.tensorType?.elemType ?? 0);
    } else {
      const type = outputType(node.opType ?? '', {
        first,
        second: types.get(node.input?.[1] ?? '') ?? 0,
        to: Number(attribute('to')?.i ?? 0),
        value: attribute('value')?.t?.dataType ?? FLOAT,
      });
      outputs = (node.output ?? []).map(() => type);
    }
    for (const [index, output] of (node.output ?? []).entries()) types.set(output, outputs[index] ?? 0);
  }
  return types;
}

/** The element type of a (non-Loop) node's outputs. */
function outputType(
  opType: string,
  known: { first: number; second: number; to: number; value: number },
): number {
  switch (opType) {
    case 'Cast':
      return known.to;
    case 'Shape':
      return 7;
    case 'Equal':
    case 'Greater':
    case 'Less':
    case 'Not':
    case 'And':
      return 9;
    case 'ConstantOfShape':
      return known.value;
    case 'Where':
      return known.second;
    default:
      return known.first;
  }
}

describe.each(cases)('mixed precision (%s)', (_name, architecture, folder) => {
  let ort: typeof import('onnxruntime-node');
  let manifest: Manifest;
  let build: (trainable: 'lora' | 'full', precision: 'float32' | 'float16') => TrainingGraph;

  beforeAll(async () => {
    ort = await import('onnxruntime-node');
    manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as Manifest;
    const weights = await readSafetensors(join(folder, 'weights.safetensors'));
    const config = (architecture as ModelArchitecture<unknown>).configSchema.parse(manifest.config);
    build = (trainable, precision) =>
      (architecture as ModelArchitecture<unknown>).buildTrainingGraph({
        config,
        weights,
        lora: trainable === 'lora' ? { config: resolveLoraConfig(manifest.lora), seed: 3 } : undefined,
        trainable,
        dropout: false,
        precision,
        headChunkTokens: 7,
      });
  });

  const run = async (graph: TrainingGraph, lossScale = 1): Promise<Record<string, Tensor>> => {
    const session = await ort.InferenceSession.create(graph.model);
    const int64 = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
        rows.length,
        rows[0]?.length ?? 0,
      ]);
    const feeds: Record<string, Tensor> = {
      input_ids: int64(manifest.input_ids),
      attention_mask: int64(manifest.attention_mask),
      labels: int64(manifest.labels),
    };
    if (graph.lossScale)
      feeds[graph.lossScale.input] = new ort.Tensor('float32', Float32Array.of(lossScale), []);
    for (const parameter of graph.parameters) {
      // LoRA B starts at zero: perturb it so that every adapter gradient is non-trivial.
      const values = parameter.initial.map((value, index) => value + 0.02 * Math.sin(index * 0.7 + 1));
      feeds[parameter.inputName] = new ort.Tensor('float32', values, parameter.shape);
    }
    const result = await session.run(feeds);
    await session.release();
    return result;
  };

  /** Largest |a − b| of each gradient relative to the largest |a|. */
  const relativeErrors = (graph: TrainingGraph, want: Record<string, Tensor>, got: Record<string, Tensor>) =>
    graph.parameters.map((parameter) => {
      const a = want[parameter.gradientName]?.data as Float32Array;
      const b = got[parameter.gradientName]?.data as Float32Array;
      let worst = 0;
      let scale = 0;
      a.forEach((value, index) => {
        worst = Math.max(worst, Math.abs(value - (b[index] as number)));
        scale = Math.max(scale, Math.abs(value));
      });
      return { name: parameter.name, error: worst / scale, scale };
    });

  it.each(['lora', 'full'] as const)(
    '%s: float16 loss and gradients track float32 (loss within 1e-3 relative, gradients within 2e-2 of their largest value)',
    async (trainable) => {
      const reference = build(trainable, 'float32');
      const half = build(trainable, 'float16');
      expect(half.precision).toBe('float16');
      expect(half.lossScale).toEqual({ input: 'loss_scale' });
      expect(reference.lossScale).toBeUndefined();
      const [want, got] = [await run(reference), await run(half, 1024)];
      const loss = Number(want.loss?.data[0]);
      expect(Math.abs(Number(got.loss?.data[0]) - loss)).toBeLessThan(1e-3 * Math.abs(loss));
      const errors = relativeErrors(reference, want, got);
      expect(errors.length).toBeGreaterThan(0);
      for (const { name, error, scale } of errors) {
        expect(scale, name).toBeGreaterThan(0);
        expect(error, name).toBeLessThan(2e-2);
      }
      // And not bit-equal: the products really ran in float16.
      expect(Math.max(...errors.map(({ error }) => error))).toBeGreaterThan(1e-6);
    },
  );

  it('float16 graphs: the gradient outputs are unscaled (a loss scale of 2^12 gives the gradients of scale 1)', async () => {
    const half = build('lora', 'float16');
    const [one, scaled] = [await run(half, 1), await run(half, 4096)];
    for (const { name, error } of relativeErrors(half, one, scaled)) {
      expect(error, name).toBeLessThan(2e-2);
    }
  });

  it('float16 graphs: matrix products in float16, frozen matrices stored in float16, the loss head in float32', () => {
    const model = onnx.ModelProto.decode(build('lora', 'float16').model);
    const types = elementTypes(model.graph ?? {});
    const nodes = model.graph?.node ?? [];
    const products = nodes.filter((node) => node.opType === 'Gemm' || node.opType === 'MatMul');
    expect(products.length).toBeGreaterThan(10);
    for (const node of products) expect(types.get(node.input?.[0] ?? ''), node.name ?? '').toBe(FLOAT16);
    const frozenMatrices = (model.graph?.initializer ?? []).filter(
      (initializer) => (initializer.dims?.length ?? 0) >= 2 && Number(initializer.dims?.[0]) > 1,
    );
    expect(frozenMatrices.length).toBeGreaterThan(2);
    for (const initializer of frozenMatrices)
      expect(initializer.dataType, initializer.name ?? '').toBe(FLOAT16);
    // Trainable adapters: float32 inputs with float32 gradients.
    for (const input of model.graph?.input ?? []) {
      if (input.name?.includes('lora_')) expect(input.type?.tensorType?.elemType).toBe(FLOAT);
    }
    for (const output of model.graph?.output ?? []) expect(output.type?.tensorType?.elemType).toBe(FLOAT);
    // The chunked head's body: log-softmax on float32, its products in float16.
    const loop = nodes.find((node) => node.opType === 'Loop');
    const body = loop?.attribute?.find((attribute) => attribute.name === 'body')?.g;
    const bodyTypes = elementTypes(body ?? {}, types);
    const bodyNodes = body?.node ?? [];
    const logSoftmax = bodyNodes.find((node) => node.opType === 'LogSoftmax');
    expect(bodyTypes.get(logSoftmax?.input?.[0] ?? '')).toBe(FLOAT);
    const bodyGemms = bodyNodes.filter((node) => node.opType === 'Gemm');
    expect(bodyGemms.length).toBeGreaterThan(0);
    for (const node of bodyGemms) expect(bodyTypes.get(node.input?.[0] ?? ''), node.name ?? '').toBe(FLOAT16);
  });
});
