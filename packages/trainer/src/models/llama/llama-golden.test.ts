import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../../lora/lora-config.js';
import { mergeLora } from '../../lora/lora-weights.js';
import { readSafetensors } from '../../safetensors/safetensors-file.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { relativeError } from '../../testing/relative-error.js';
import type { ModelArchitecture, TrainingGraph } from '../model-architecture.js';
import { llamaArchitecture, qwen2Architecture } from './llama-architecture.js';
import type { LlamaConfig } from './llama-config.js';

// Fixtures written by tests/golden/llama_lora.py (PyTorch 1.13, fp32, Hugging Face's modeling code
// written out in plain torch).
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Manifest {
  config: Record<string, unknown>;
  lora: Record<string, unknown>;
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}

/** ‖actual − expected‖ / ‖expected‖. */

describe.each([
  ['llama', llamaArchitecture, 'GQA 4/2 heads, untied head, rope_scaling llama3'],
  ['qwen2', qwen2Architecture, 'GQA 4/1 heads, q/k/v biases, tied embeddings, rope_scaling linear'],
] as const)(
  '%s against PyTorch golden values (%s)',
  (name, architecture: ModelArchitecture<LlamaConfig>, _features: string) => {
    let ort: typeof import('onnxruntime-node');
    let manifest: Manifest;
    let config: LlamaConfig;
    let weights: TensorMap;
    let adapter: TensorMap;
    let expected: TensorMap;
    const int64 = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
        rows.length,
        rows[0]?.length ?? 0,
      ]);
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
    const expectedData = (key: string) => (expected.get(key) as { data: Float32Array }).data;

    beforeAll(async () => {
      ort = await import('onnxruntime-node');
      const folder = join(fixtures, name);
      manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as Manifest;
      config = architecture.configSchema.parse(manifest.config);
      weights = await readSafetensors(join(folder, 'weights.safetensors'));
      adapter = await readSafetensors(join(folder, 'adapter.safetensors'));
      expected = await readSafetensors(join(folder, 'expected.safetensors'));
    });

    // 36 tokens: the head in one chunk (default), and in 8 chunks of 5 with 4 padding rows.
    it.each([{ headChunkTokens: undefined }, { headChunkTokens: 5 }])(
      'LoRA on q/k/v/o/gate/up/down: loss, logits and every adapter gradient within 1e-5 relative (head chunks $headChunkTokens)',
      async ({ headChunkTokens }) => {
        const graph = architecture.buildTrainingGraph({
          config,
          weights,
          lora: { config: resolveLoraConfig(manifest.lora), weights: adapter },
          trainable: 'lora',
          dropout: false,
          outputLogits: true,
          headChunkTokens,
        });
        expect(graph.parameters.map((parameter) => parameter.name).sort()).toEqual(
          [...adapter.keys()].sort(),
        );
        expect(graph.parameters.map((parameter) => parameter.name)).toContain(
          'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        );
        const result = await run(graph);
        expect(relativeError(result.loss?.data as Float32Array, expectedData('lora.loss'))).toBeLessThan(
          1e-5,
        );
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
      'full fine-tuning: loss and every weight gradient (embeddings, norms, biases, head; head chunks $headChunkTokens)',
      async ({ headChunkTokens }) => {
        const graph = architecture.buildTrainingGraph({
          config,
          weights,
          trainable: 'full',
          dropout: false,
          headChunkTokens,
        });
        expect(graph.parameters.map((parameter) => parameter.name).sort()).toEqual(
          [...weights.keys()].sort(),
        );
        const result = await run(graph);
        expect(relativeError(result.loss?.data as Float32Array, expectedData('full.loss'))).toBeLessThan(
          1e-5,
        );
        for (const parameter of graph.parameters) {
          const error = relativeError(
            result[parameter.gradientName]?.data as Float32Array,
            expectedData(`full.grad.${parameter.name}`),
          );
          expect(error, parameter.name).toBeLessThan(1e-5);
        }
      },
    );

    it('KV-cache inference graph: prefill + cached steps reproduce the logits; merged and live LoRA too', async () => {
      const loraConfig = resolveLoraConfig(manifest.lora);
      const merged = mergeLora(weights, adapter, loraConfig, { fanInFanOut: false });
      for (const [modelWeights, lora, key] of [
        [weights, undefined, 'full.logits'],
        [merged, undefined, 'lora.logits'],
        [weights, { config: loraConfig, weights: adapter }, 'lora.logits'],
      ] as const) {
        const graph = architecture.buildInferenceGraph({
          config,
          weights: modelWeights,
          lora,
          kvCache: true,
        });
        expect(graph.heads).toBe(config.num_key_value_heads);
        const session = await ort.InferenceSession.create(graph.model);
        const ids = manifest.input_ids[0] as number[];
        const vocab = config.vocab_size;
        const reference = expectedData(key);
        let past: Record<string, Tensor> = Object.fromEntries(
          Array.from({ length: graph.layers }, (_, layer) =>
            ['key', 'value'].map((kind) => [
              `past_key_values.${layer}.${kind}`,
              new ort.Tensor('float32', new Float32Array(0), [1, graph.heads, 0, graph.headSize]),
            ]),
          ).flat(),
        );
        const prefill = 7;
        for (const [start, end] of [
          [0, prefill],
          [prefill, prefill + 1],
          [prefill + 1, prefill + 2],
        ] as const) {
          const output = await session.run({
            input_ids: int64([ids.slice(start, end)]),
            attention_mask: int64([new Array(end).fill(1)]),
            position_ids: int64([Array.from({ length: end - start }, (_, index) => start + index)]),
            ...past,
          });
          expect(
            relativeError(
              output.logits?.data as Float32Array,
              reference.subarray(start * vocab, end * vocab),
            ),
            `${key} tokens ${start}..${end}`,
          ).toBeLessThan(1e-5);
          expect(output['present.0.key']?.dims).toEqual([1, graph.heads, end, graph.headSize]);
          past = Object.fromEntries(
            Array.from({ length: graph.layers }, (_, layer) =>
              ['key', 'value'].map((kind) => [
                `past_key_values.${layer}.${kind}`,
                output[`present.${layer}.${kind}`] as Tensor,
              ]),
            ).flat(),
          );
        }
      }
    });
  },
);
