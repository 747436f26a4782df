import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { QuantizationConfigSchema } from '@tunekit/core';
import type { Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { llamaArchitecture } from '../models/llama/llama-architecture.js';
import type { LlamaConfig } from '../models/llama/llama-config.js';
import { llamaLinearModules } from '../models/llama/llama-weights.js';
import type { TrainingGraph } from '../models/model-architecture.js';
import { readSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { relativeError } from '../testing/relative-error.js';
import { dequantizeInt4Blocks } from './quantize-int4-blocks.js';
import { quantizeLinearWeights } from './quantize-linear-weights.js';

// tests/golden/qlora.py: the tiny Llama of tests/golden/llama_lora.py with every frozen linear weight
// replaced by the same int4 block quantization, loss and LoRA gradients by PyTorch 1.13 autograd.
const llamaFixtures = new URL('../models/llama/fixtures/llama/', import.meta.url);
const fixtures = new URL('./fixtures/', import.meta.url);

interface Manifest {
  config: Record<string, unknown>;
  lora: Record<string, unknown>;
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}

describe('QLoRA-style training graph against PyTorch (tests/golden/qlora.py, tiny Llama, int4 blocks of 16)', () => {
  let ort: typeof import('onnxruntime-node');
  let manifest: Manifest;
  let golden: { blockSize: number; float_lora_loss: number };
  let config: LlamaConfig;
  let weights: TensorMap;
  let adapter: TensorMap;
  let expected: TensorMap;
  const expectedData = (key: string) => (expected.get(key) as { data: Float32Array }).data;
  const int64 = (rows: number[][]) =>
    new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]?.length ?? 0]);
  const build = (backward: 'dequantize' | 'transposed-copy') =>
    llamaArchitecture.buildTrainingGraph({
      config,
      weights,
      lora: { config: resolveLoraConfig(manifest.lora), weights: adapter },
      trainable: 'lora',
      dropout: false,
      outputLogits: true,
      quantization: { bits: 4, blockSize: golden.blockSize, backward },
    });
  const run = async (graph: TrainingGraph): Promise<Record<string, Tensor>> => {
    const session = await ort.InferenceSession.create(graph.model);
    const feeds: Record<string, Tensor> = {
      input_ids: int64(manifest.input_ids),
      attention_mask: int64(manifest.attention_mask),
      labels: int64(manifest.labels),
    };
    for (const parameter of graph.parameters) {
      feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
    }
    return session.run(feeds);
  };
  const gradientErrors = (graph: TrainingGraph, result: Record<string, Tensor>) =>
    graph.parameters.map((parameter) =>
      relativeError(
        result[parameter.gradientName]?.data as Float32Array,
        expectedData(`grad.${parameter.name}`),
      ),
    );

  beforeAll(async () => {
    ort = await import('onnxruntime-node');
    const read = async (url: URL) => JSON.parse(await readFile(url, 'utf8'));
    manifest = (await read(new URL('manifest.json', llamaFixtures))) as Manifest;
    golden = await read(new URL('qlora.manifest.json', fixtures));
    config = llamaArchitecture.configSchema.parse(manifest.config);
    weights = await readSafetensors(fileURLToPath(new URL('weights.safetensors', llamaFixtures)));
    adapter = await readSafetensors(fileURLToPath(new URL('adapter.safetensors', llamaFixtures)));
    expected = await readSafetensors(fileURLToPath(new URL('qlora.expected.safetensors', fixtures)));
  });

  it('quantizes every linear weight to the same scales and dequantized values as PyTorch (exactly)', () => {
    const { weights: remaining, linears } = quantizeLinearWeights(
      weights,
      llamaLinearModules(config),
      'out-in',
      QuantizationConfigSchema.parse({ bits: 4, blockSize: golden.blockSize }),
    );
    expect(linears.size).toBe(14);
    expect([...remaining.keys()].some((name) => name.endsWith('_proj.weight'))).toBe(false);
    expect(remaining.has('lm_head.weight') && remaining.has('model.embed_tokens.weight')).toBe(true);
    for (const [modulePath, linear] of linears) {
      expect(linear.weight.scales, modulePath).toEqual(expectedData(`scales.${modulePath}`));
    }
    const qProj = linears.get('model.layers.0.self_attn.q_proj');
    // Equal values (signed zeros aside: −0 and 0 are the same weight).
    const withoutSignedZeros = (values: Float32Array) => Array.from(values, (value) => value + 0);
    expect(withoutSignedZeros(dequantizeInt4Blocks(qProj?.weight as never))).toEqual(
      withoutSignedZeros(expectedData('dequantized.model.layers.0.self_attn.q_proj.weight')),
    );
  });

  it('backward dequantize: loss, logits and all 28 LoRA gradients within 1e-5 relative', async () => {
    const graph = build('dequantize');
    expect(graph.parameters).toHaveLength(28);
    const result = await run(graph);
    const loss = result.loss?.data as Float32Array;
    expect(relativeError(loss, expectedData('loss'))).toBeLessThan(1e-6);
    // The quantized base changes the loss (it is not the float model's).
    expect(Math.abs((loss[0] as number) - golden.float_lora_loss)).toBeGreaterThan(1e-2);
    expect(relativeError(result.logits?.data as Float32Array, expectedData('logits'))).toBeLessThan(1e-5);
    const errors = gradientErrors(graph, result);
    console.info(
      `QLoRA golden (dequantize): worst LoRA gradient error ${Math.max(...errors).toExponential(2)}`,
    );
    errors.forEach((error, index) => {
      expect(error, graph.parameters[index]?.name).toBeLessThan(1e-5);
    });
  });

  it('backward transposed-copy: same loss; gradients through the requantized Wᵀ are off by a few percent', async () => {
    const graph = build('transposed-copy');
    const result = await run(graph);
    expect(relativeError(result.loss?.data as Float32Array, expectedData('loss'))).toBeLessThan(1e-6);
    const errors = gradientErrors(graph, result);
    const worst = Math.max(...errors);
    console.info(
      `QLoRA golden (transposed-copy): LoRA gradient error median ${errors.sort((a, b) => a - b)[14]?.toExponential(2)}, worst ${worst.toExponential(2)}`,
    );
    expect(worst).toBeGreaterThan(1e-4);
    expect(worst).toBeLessThan(0.3);
  });

  it('refuses full fine-tuning of a quantized base (VALIDATION_FAILED)', () => {
    expect(() =>
      llamaArchitecture.buildTrainingGraph({
        config,
        weights,
        trainable: 'full',
        dropout: false,
        quantization: { bits: 4, blockSize: 16 },
      }),
    ).toThrow(/needs trainable "lora"/);
  });
});
