import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../../lora/lora-config.js';
import { readSafetensors } from '../../safetensors/safetensors-file.js';
import { relativeError } from '../../testing/relative-error.js';
import { getArchitecture } from '../architecture-registry.js';

// Fixtures written by tests/golden/bert_lora.py (PyTorch 1.13, fp32).
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface VariantManifest {
  config: Record<string, unknown>;
  targetModules: string[];
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[];
}

describe.each(['bert', 'roberta', 'distilbert'])('%s sequence classifier against PyTorch', (variant) => {
  let ort: typeof import('onnxruntime-node');
  let manifest: {
    lora: { r: number; alpha: number; dropout: number };
    variants: Record<string, VariantManifest>;
  };
  let spec: VariantManifest;
  const load = (kind: string) => readSafetensors(`${fixtures}${variant}.${kind}.safetensors`);
  const feeds = (withLabels: boolean): Record<string, Tensor> => {
    const tensor = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
        rows.length,
        rows[0]?.length ?? 0,
      ]);
    const result: Record<string, Tensor> = {
      input_ids: tensor(spec.input_ids),
      attention_mask: tensor(spec.attention_mask),
    };
    if (withLabels) {
      result.labels = new ort.Tensor('int64', BigInt64Array.from(spec.labels.map(BigInt)), [
        spec.labels.length,
      ]);
    }
    return result;
  };

  beforeAll(async () => {
    ort = await import('onnxruntime-node');
    manifest = JSON.parse(await readFile(`${fixtures}manifest.json`, 'utf8'));
    spec = manifest.variants[variant] as VariantManifest;
  });

  it.each(['lora', 'full'] as const)('%s: loss, logits and every gradient within 1e-5', async (mode) => {
    const architecture = getArchitecture(variant);
    expect(architecture.task).toBe('sequence-classification');
    const config = architecture.configSchema.parse(spec.config);
    const weights = await load('weights');
    const expected = await load('expected');
    const lora =
      mode === 'lora'
        ? {
            config: resolveLoraConfig({ ...manifest.lora, targetModules: spec.targetModules }),
            weights: await load('adapter'),
          }
        : undefined;
    const graph = architecture.buildTrainingGraph({
      config,
      weights,
      lora,
      trainable: mode,
      dropout: false,
      outputLogits: true,
    });
    const session = await ort.InferenceSession.create(graph.model);
    const input = feeds(true);
    for (const parameter of graph.parameters) {
      input[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
    }
    const output = await session.run(input);
    const data = (name: string) => (output[name] as Tensor).data as Float32Array;
    const reference = (name: string) => (expected.get(name) as { data: Float32Array }).data;
    expect(relativeError(data('loss'), reference(`${mode}.loss`))).toBeLessThan(1e-5);
    expect(relativeError(data('logits'), reference(`${mode}.logits`))).toBeLessThan(1e-5);
    const expectedGradients = [...expected.keys()].filter((name) => name.startsWith(`${mode}.grad.`));
    expect(graph.parameters.map((parameter) => `${mode}.grad.${parameter.name}`).sort()).toEqual(
      expectedGradients.sort(),
    );
    for (const parameter of graph.parameters) {
      const actual = data(parameter.gradientName);
      const wanted = reference(`${mode}.grad.${parameter.name}`);
      if (Math.hypot(...wanted) < 1e-6) {
        // The key bias shifts every score of a query equally, so softmax cancels it: both sides are
        // rounding noise around an exact zero.
        expect(parameter.name, 'only key biases have a zero gradient').toMatch(/(key|k_lin)\.bias$/);
        expect(Math.hypot(...actual), parameter.name).toBeLessThan(1e-6);
        continue;
      }
      expect(relativeError(actual, wanted), parameter.name).toBeLessThan(1e-5);
    }
    await session.release();
  });

  it('inference graph with the adapter gives the same logits', async () => {
    const architecture = getArchitecture(variant);
    const config = architecture.configSchema.parse(spec.config);
    const graph = architecture.buildInferenceGraph({
      config,
      weights: await load('weights'),
      lora: {
        config: resolveLoraConfig({ ...manifest.lora, targetModules: spec.targetModules }),
        weights: await load('adapter'),
      },
      kvCache: false,
    });
    expect(graph.inputNames).toEqual(['input_ids', 'attention_mask']);
    const session = await ort.InferenceSession.create(graph.model);
    const output = await session.run(feeds(false));
    const expected = await load('expected');
    expect(
      relativeError(
        (output.logits as Tensor).data as Float32Array,
        (expected.get('lora.logits') as { data: Float32Array }).data,
      ),
    ).toBeLessThan(1e-5);
    await session.release();
  });
});
