import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '@tunekit/core/statistics';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import type { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { readSafetensors } from '../safetensors/safetensors-file.js';
import { defaultChunkTokens } from './build-chunked-head.js';
import { gpt2Architecture } from './gpt2/gpt2-architecture.js';
import { Gpt2ConfigSchema } from './gpt2/gpt2-config.js';

const fixtures = fileURLToPath(new URL('./gpt2/fixtures/', import.meta.url));
const onnx = (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;

describe('buildChunkedHead (fused LM head + cross-entropy over chunks of tokens)', () => {
  it('the training graph holds no whole-vocabulary logits: the head runs inside a Loop', async () => {
    const manifest = JSON.parse(await readFile(`${fixtures}manifest.json`, 'utf8'));
    const weights = await readSafetensors(`${fixtures}weights.safetensors`);
    const graph = gpt2Architecture.buildTrainingGraph({
      config: Gpt2ConfigSchema.parse(manifest.config),
      weights,
      lora: { config: resolveLoraConfig(manifest.lora), seed: 0 },
      trainable: 'lora',
      dropout: false,
    });
    const model = onnx.ModelProto.decode(graph.model);
    const topLevel = (model.graph?.node ?? []).map((node) => node.opType);
    expect(topLevel).toContain('Loop');
    expect(topLevel).not.toContain('LogSoftmax');
    expect(topLevel).not.toContain('ScatterElements');
    const loop = model.graph?.node?.find((node) => node.opType === 'Loop');
    const body = loop?.attribute?.find((attribute) => attribute.name === 'body')?.g;
    expect(body?.node?.map((node) => node.opType)).toContain('LogSoftmax');
  });

  it('DPO with a trained head (second pass over the head): the tied embedding gradient matches central differences', async () => {
    const ort = await loadOnnxRuntime();
    const manifest = JSON.parse(await readFile(`${fixtures}manifest.json`, 'utf8'));
    const dpo = JSON.parse(await readFile(`${fixtures}dpo.manifest.json`, 'utf8')) as {
      beta: number;
      input_ids: number[][];
      attention_mask: number[][];
      labels: number[][];
    };
    const weights = await readSafetensors(`${fixtures}weights.safetensors`);
    const graph = gpt2Architecture.buildTrainingGraph({
      config: Gpt2ConfigSchema.parse(manifest.config),
      weights,
      trainable: 'full',
      dropout: false,
      preference: { beta: dpo.beta },
      headChunkTokens: 5,
    });
    const session = await ort.InferenceSession.create(graph.model);
    const tensor = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
        rows.length,
        rows[0]?.length ?? 0,
      ]);
    const embedding = graph.parameters.find((parameter) => parameter.name === 'transformer.wte.weight');
    if (!embedding) throw new Error('no wte parameter');
    // A reference that puts the pairs away from z = 0, so the loss is not flat.
    const reference = new Float32Array(dpo.labels.length).map((_, index) => (index % 2 === 0 ? -3 : 3));
    const run = async (wte: Float32Array) => {
      const feeds: Record<string, Tensor> = {
        input_ids: tensor(dpo.input_ids),
        attention_mask: tensor(dpo.attention_mask),
        labels: tensor(dpo.labels),
        reference_logps: new ort.Tensor('float32', reference, [dpo.labels.length]),
      };
      for (const item of graph.parameters) {
        feeds[item.inputName] = new ort.Tensor(
          'float32',
          item === embedding ? wte : item.initial,
          item.shape,
        );
      }
      return session.run(feeds);
    };
    const base = await run(embedding.initial);
    const gradient = base[embedding.gradientName]?.data as Float32Array;
    const random = new SeededRandom(3);
    const direction = Float32Array.from(embedding.initial, () => random.next() - 0.5);
    const step = 3e-3;
    const shifted = (sign: number) =>
      embedding.initial.map((value, index) => value + sign * step * (direction[index] as number));
    const lossAt = async (sign: number) => ((await run(shifted(sign))).loss as Tensor).data[0] as number;
    const numeric = ((await lossAt(1)) - (await lossAt(-1))) / (2 * step);
    const analytic = gradient.reduce((sum, value, index) => sum + value * (direction[index] as number), 0);
    expect(Math.abs(analytic)).toBeGreaterThan(1e-3);
    expect(Math.abs(analytic - numeric) / Math.abs(numeric)).toBeLessThan(1e-3);
    await session.release();
  });

  it('defaultChunkTokens keeps about 16 Mi logits per chunk, a multiple of 16 in [16, 4096]', () => {
    expect(defaultChunkTokens(50257)).toBe(320);
    expect(defaultChunkTokens(151936)).toBe(96);
    expect(defaultChunkTokens(8192)).toBe(2048);
    expect(defaultChunkTokens(97)).toBe(4096);
    expect(defaultChunkTokens(10_000_000)).toBe(16);
  });
});
