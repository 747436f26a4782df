import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../../lora/lora-config.js';
import { mergeLora } from '../../lora/lora-weights.js';
import { readSafetensors } from '../../safetensors/safetensors-file.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { relativeError } from '../../testing/relative-error.js';
import { DropoutMaskFeeds, type DropoutMaskKey } from '../../train/dropout-mask-feeds.js';
import type { TrainingGraph } from '../model-architecture.js';
import { gpt2Architecture } from './gpt2-architecture.js';
import { type Gpt2Config, Gpt2ConfigSchema } from './gpt2-config.js';

// Fixtures written by tests/golden/gpt2_lora.py (PyTorch 1.13, fp32).
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Manifest {
  config: Record<string, unknown>;
  lora: Record<string, unknown>;
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  sha256: Record<string, string>;
}

/** ‖actual − expected‖ / ‖expected‖. */

const sha256 = (data: Float32Array) =>
  createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');

describe('GPT-2 against PyTorch golden values', () => {
  let ort: typeof import('onnxruntime-node');
  let manifest: Manifest;
  let config: Gpt2Config;
  let weights: TensorMap;
  let adapter: TensorMap;
  let expected: TensorMap;
  const batch = () => {
    const tensor = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
        rows.length,
        rows[0]?.length ?? 0,
      ]);
    return {
      input_ids: tensor(manifest.input_ids),
      attention_mask: tensor(manifest.attention_mask),
      labels: tensor(manifest.labels),
    };
  };
  const run = async (graph: TrainingGraph): Promise<Record<string, Tensor>> => {
    const session: InferenceSession = await ort.InferenceSession.create(graph.model);
    const feeds: Record<string, Tensor> = batch();
    for (const parameter of graph.parameters) {
      feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
    }
    return session.run(feeds);
  };
  const expectedData = (name: string) => (expected.get(name) as { data: Float32Array }).data;

  beforeAll(async () => {
    ort = await import('onnxruntime-node');
    manifest = JSON.parse(await readFile(join(fixtures, 'manifest.json'), 'utf8')) as Manifest;
    config = Gpt2ConfigSchema.parse(manifest.config);
    weights = await readSafetensors(join(fixtures, 'weights.safetensors'));
    adapter = await readSafetensors(join(fixtures, 'adapter.safetensors'));
    expected = await readSafetensors(join(fixtures, 'expected.safetensors'));
  });

  it('reads PyTorch-written safetensors bit-exactly (F32, and F16/BF16 upcast)', async () => {
    for (const [name, tensor] of weights) expect(sha256(tensor.data), name).toBe(manifest.sha256[name]);
    const mixed = await readSafetensors(join(fixtures, 'mixed.safetensors'));
    expect(sha256((mixed.get('wte.f16') as { data: Float32Array }).data)).toBe(manifest.sha256['wte.f16']);
    expect(sha256((mixed.get('wte.bf16') as { data: Float32Array }).data)).toBe(manifest.sha256['wte.bf16']);
  });

  // 48 tokens: the head in one chunk (default), and in 7 chunks of 7 with one padding row.
  it.each([{ headChunkTokens: undefined }, { headChunkTokens: 7 }])(
    'LoRA: loss, logits and every adapter gradient match within 1e-5 relative (head chunks $headChunkTokens)',
    async ({ headChunkTokens }) => {
      const graph = gpt2Architecture.buildTrainingGraph({
        config,
        weights,
        lora: { config: resolveLoraConfig(manifest.lora), weights: adapter },
        trainable: 'lora',
        dropout: false,
        outputLogits: true,
        headChunkTokens,
      });
      expect(graph.parameters.map((parameter) => parameter.name).sort()).toEqual([...adapter.keys()].sort());
      const result = await run(graph);
      expect(relativeError(result.loss?.data as Float32Array, expectedData('lora.loss'))).toBeLessThan(1e-5);
      expect(relativeError(result.logits?.data as Float32Array, expectedData('lora.logits'))).toBeLessThan(
        1e-5,
      );
      for (const parameter of graph.parameters) {
        const error = relativeError(
          result[parameter.gradientName]?.data as Float32Array,
          expectedData(`lora.grad.${parameter.name}`),
        );
        expect(error, parameter.name).toBeLessThan(1e-5);
      }
    },
  );

  it.each([{ headChunkTokens: undefined }, { headChunkTokens: 5 }])(
    'full fine-tuning (static shapes): loss and every weight gradient incl. tied embeddings (head chunks $headChunkTokens)',
    async ({ headChunkTokens }) => {
      const graph = gpt2Architecture.buildTrainingGraph({
        config,
        weights,
        trainable: 'full',
        dropout: false,
        batchSize: 3,
        sequenceLength: 16,
        headChunkTokens,
      });
      expect(graph.parameters).toHaveLength(weights.size);
      const result = await run(graph);
      expect(relativeError(result.loss?.data as Float32Array, expectedData('full.loss'))).toBeLessThan(1e-5);
      for (const parameter of graph.parameters) {
        const error = relativeError(
          result[parameter.gradientName]?.data as Float32Array,
          expectedData(`full.grad.${parameter.name}`),
        );
        expect(error, parameter.name).toBeLessThan(1e-5);
      }
    },
  );

  it('LoRA graph differentiates no frozen weight; dropout graph takes its masks as inputs', async () => {
    const { createRequire } = await import('node:module');
    const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');
    const lora = { config: resolveLoraConfig({ ...manifest.lora, dropout: 0.1 }), weights: adapter };
    const graph = gpt2Architecture.buildTrainingGraph({
      config,
      weights,
      lora,
      trainable: 'lora',
      dropout: true,
    });
    const decoded = onnx.ModelProto.decode(graph.model).graph;
    const operators = new Set(decoded?.node?.map((node) => node.opType));
    expect(operators.has('ScatterND')).toBe(false); // no embedding gradient
    // Dropout masks are inputs (one per site: the LoRA input of c_attn, c_proj, c_fc, mlp.c_proj in
    // each of 2 layers), drawn by the trainer, never an in-session generator.
    expect(operators.has('Dropout')).toBe(false);
    expect(graph.dropout?.masks.map((mask) => mask.inputName)).toEqual(
      Array.from({ length: 8 }, (_, index) => `dropout_mask.${index + 1}`),
    );
    expect(decoded?.initializer?.some((tensor) => tensor.name === 'transformer.wte.weight')).toBe(true);
    expect(decoded?.output?.map((output) => output.name)).toEqual([
      'loss',
      ...graph.parameters.map((parameter) => parameter.gradientName),
    ]);
    const session = await ort.InferenceSession.create(graph.model);
    const feeds: Record<string, Tensor> = batch();
    for (const parameter of graph.parameters) {
      feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
    }
    const masks = new DropoutMaskFeeds(ort, graph.dropout as NonNullable<typeof graph.dropout>);
    const shape = { batch: manifest.input_ids.length, sequence: manifest.input_ids[0]?.length ?? 0 };
    const run = async (key: DropoutMaskKey) => {
      const output = await session.run({ ...feeds, ...masks.feeds(shape, key) });
      return Number(output.loss?.data[0]);
    };
    const loss = await run({ seed: 1, step: 1, microBatch: 0 });
    expect(Number.isFinite(loss)).toBe(true);
    expect(Math.abs(loss - Number(expectedData('lora.loss')[0]))).toBeLessThan(0.5);
    expect(await run({ seed: 1, step: 2, microBatch: 0 })).not.toBe(loss); // a new mask every step
    expect(await run({ seed: 1, step: 1, microBatch: 0 })).toBe(loss); // and the same for the same key
  });

  it('large-model path: weights in external data, session opened from the saved folder', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { saveSerializedModel } = await import('../../onnx/serialize-model.js');
    const graph = gpt2Architecture.buildTrainingGraph({
      config,
      weights,
      trainable: 'lora',
      lora: { config: resolveLoraConfig(manifest.lora), weights: adapter },
      dropout: false,
      externalDataThreshold: 0,
    });
    expect(graph.externalData?.byteLength).toBeGreaterThan(100_000);
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-external-'));
    try {
      const path = await saveSerializedModel(graph, directory);
      const session = await ort.InferenceSession.create(path);
      const feeds: Record<string, Tensor> = batch();
      for (const parameter of graph.parameters) {
        feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
      }
      const result = await session.run(feeds);
      expect(relativeError(result.loss?.data as Float32Array, expectedData('lora.loss'))).toBeLessThan(1e-5);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('inference graph with KV cache: prefill + one cached step reproduce the logits; merged and live LoRA too', async () => {
    const merged = mergeLora(weights, adapter, resolveLoraConfig(manifest.lora), { fanInFanOut: true });
    const live = { config: resolveLoraConfig(manifest.lora), weights: adapter };
    for (const [modelWeights, lora, key] of [
      [weights, undefined, 'full.logits'],
      [merged, undefined, 'lora.logits'],
      [weights, live, 'lora.logits'],
    ] as const) {
      const graph = gpt2Architecture.buildInferenceGraph({
        config,
        weights: modelWeights,
        lora,
        kvCache: true,
      });
      const session = await ort.InferenceSession.create(graph.model);
      const ids = manifest.input_ids[0] as number[];
      const heads = graph.heads;
      const emptyPast = Object.fromEntries(
        Array.from({ length: graph.layers }, (_, layer) =>
          ['key', 'value'].map((kind) => [
            `past_key_values.${layer}.${kind}`,
            new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, graph.headSize]),
          ]),
        ).flat(),
      );
      const int64 = (values: number[]) =>
        new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);
      const prefill = 10;
      const first = await session.run({
        input_ids: int64(ids.slice(0, prefill)),
        attention_mask: int64(new Array(prefill).fill(1)),
        position_ids: int64([...Array(prefill).keys()]),
        ...emptyPast,
      });
      const vocab = config.vocab_size;
      const reference = expectedData(key);
      expect(
        relativeError(first.logits?.data as Float32Array, reference.subarray(0, prefill * vocab)),
      ).toBeLessThan(1e-5);
      const past = Object.fromEntries(
        Array.from({ length: graph.layers }, (_, layer) =>
          ['key', 'value'].map((kind) => [
            `past_key_values.${layer}.${kind}`,
            first[`present.${layer}.${kind}`] as Tensor,
          ]),
        ).flat(),
      );
      const second = await session.run({
        input_ids: int64([ids[prefill] as number]),
        attention_mask: int64(new Array(prefill + 1).fill(1)),
        position_ids: int64([prefill]),
        ...past,
      });
      expect(second['present.0.key']?.dims).toEqual([1, heads, prefill + 1, graph.headSize]);
      const row = reference.subarray(prefill * vocab, (prefill + 1) * vocab);
      expect(relativeError(second.logits?.data as Float32Array, row)).toBeLessThan(1e-5);
    }
  });
});
