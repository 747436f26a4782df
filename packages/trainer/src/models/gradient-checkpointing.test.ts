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

interface Manifest {
  config: Record<string, unknown>;
  lora: Record<string, unknown>;
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}

const cases = [
  ['gpt2', gpt2Architecture, join(here, 'gpt2/fixtures'), /^h\.\d+\//],
  ['llama', llamaArchitecture, join(here, 'llama/fixtures/llama'), /^layers\.\d+\//],
  ['qwen2', qwen2Architecture, join(here, 'llama/fixtures/qwen2'), /^layers\.\d+\//],
] as const;

describe.each(cases)('gradient checkpointing (%s)', (_name, architecture, folder, layerNode) => {
  let ort: typeof import('onnxruntime-node');
  let manifest: Manifest;
  let build: (trainable: 'lora' | 'full', gradientCheckpointing: boolean) => Promise<TrainingGraph>;

  beforeAll(async () => {
    ort = await import('onnxruntime-node');
    manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as Manifest;
    const weights = await readSafetensors(join(folder, 'weights.safetensors'));
    const config = (architecture as ModelArchitecture<unknown>).configSchema.parse(manifest.config);
    build = async (trainable, gradientCheckpointing) =>
      (architecture as ModelArchitecture<unknown>).buildTrainingGraph({
        config,
        weights,
        lora: trainable === 'lora' ? { config: resolveLoraConfig(manifest.lora), seed: 3 } : undefined,
        trainable,
        dropout: false,
        gradientCheckpointing,
        headChunkTokens: 7,
      });
  });

  const run = async (graph: TrainingGraph): Promise<Record<string, Tensor>> => {
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
    for (const parameter of graph.parameters) {
      // LoRA B starts at zero: perturb it so that every adapter gradient is non-trivial.
      const values = parameter.initial.map((value, index) => value + 0.02 * Math.sin(index * 0.7 + 1));
      feeds[parameter.inputName] = new ort.Tensor('float32', values, parameter.shape);
    }
    const result = await session.run(feeds);
    await session.release();
    return result;
  };

  /**
   * Backward nodes that read a value computed inside a layer (kept alive from the forward pass until
   * then), other than the layers' outputs that forward nodes outside the layers read (the last
   * layer's output feeds the final norm: a checkpoint, kept either way).
   */
  const backwardReadsOfLayerValues = (graph: TrainingGraph) => {
    const model = onnx.ModelProto.decode(graph.model);
    const nodes = model.graph?.node ?? [];
    const producer = new Map<string, string>();
    for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node.name ?? '');
    const isForward = (name: string) => !/^(grad|recompute)\//.test(name);
    const boundary = new Set(
      nodes
        .filter((node) => isForward(node.name ?? '') && !layerNode.test(node.name ?? ''))
        .flatMap((node) => node.input ?? []),
    );
    return nodes
      .filter((node) => node.name?.startsWith('grad/'))
      .flatMap((node) =>
        (node.input ?? []).filter(
          (input) => layerNode.test(producer.get(input) ?? '') && !boundary.has(input),
        ),
      );
  };

  it.each(['lora', 'full'] as const)(
    '%s: the same loss and gradients, and no backward node reads a layer activation of the forward pass',
    async (trainable) => {
      const plain = await build(trainable, false);
      const checkpointed = await build(trainable, true);
      expect(backwardReadsOfLayerValues(plain).length).toBeGreaterThan(10);
      expect(backwardReadsOfLayerValues(checkpointed)).toEqual([]);
      const [expected, actual] = [await run(plain), await run(checkpointed)];
      expect(actual.loss?.data[0]).toBe(expected.loss?.data[0]);
      expect(checkpointed.parameters.map((parameter) => parameter.name)).toEqual(
        plain.parameters.map((parameter) => parameter.name),
      );
      for (const parameter of plain.parameters) {
        const want = expected[parameter.gradientName]?.data as Float32Array;
        const got = actual[parameter.gradientName]?.data as Float32Array;
        let worst = 0;
        let scale = 0;
        want.forEach((value, index) => {
          worst = Math.max(worst, Math.abs(value - (got[index] as number)));
          scale = Math.max(scale, Math.abs(value));
        });
        expect(scale, parameter.name).toBeGreaterThan(0);
        expect(worst, parameter.name).toBeLessThanOrEqual(1e-6 * scale);
      }
    },
  );
});
