import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TunekitError } from '@tunekit/core';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { Graph } from '../onnx/graph.js';
import { readSafetensors } from '../safetensors/safetensors-file.js';
import { DropoutMaskFeeds, fillDropoutMask } from '../train/dropout-mask-feeds.js';
import { getArchitecture } from './architecture-registry.js';
import { createDropout, dropoutMaskSize } from './create-dropout.js';
import type { TrainingGraph } from './model-architecture.js';

describe('symbolic reshape dimensions', () => {
  it('names the inferred dimension as a product of the input symbols', () => {
    const graph = new Graph({ name: 'shapes' });
    const x = graph.input('x', 'float32', ['batch', 'sequence', 4, 8]);
    expect(graph.reshape(x, [-1, 32]).shape).toEqual(['batch*sequence', 32]);
    expect(graph.reshape(x, [-1, 8]).shape).toEqual(['4*batch*sequence', 8]);
    expect(graph.reshape(x, [0, -1, 32]).shape).toEqual(['batch', 'sequence', 32]);
    const flat = graph.reshape(x, [-1, 32]);
    expect(graph.reshape(flat, [-1, 4, 8]).shape).toEqual(['batch*sequence', 4, 8]);
    // 32 does not divide 3·8: the builder cannot name it.
    const odd = graph.input('odd', 'float32', ['batch', 3, 8]);
    expect(graph.reshape(odd, [-1, 32]).shape[0]).toMatch(/^unknown_/);
  });
});

describe('dropout masks', () => {
  it('sizes masks from the batch and sequence of a run', () => {
    const dimensions = { batch: 'batch', sequence: 'sequence' };
    const runtime = { batch: 3, sequence: 5 };
    expect(dropoutMaskSize(['batch*sequence', 32], dimensions, runtime)).toBe(480);
    expect(dropoutMaskSize(['batch', 2, 'sequence', 'sequence'], dimensions, runtime)).toBe(150);
    expect(dropoutMaskSize(['4*batch*sequence', 8], dimensions, runtime)).toBe(480);
    expect(dropoutMaskSize([3, 'sequence'], { batch: 3, sequence: 'sequence' }, runtime)).toBe(15);
    expect(() => dropoutMaskSize(['heads'], dimensions, runtime)).toThrow(/unknown dimension heads/);
  });

  it('refuses dropout on a value the trainer could not size (GRAPH_INVALID)', () => {
    const graph = new Graph({ name: 'unsized' });
    const dropout = createDropout(graph, { masks: [], dimensions: { batch: 'batch', sequence: 'sequence' } });
    const x = graph.input('x', 'float32', ['batch', 'unknown_1']);
    const error = (() => {
      try {
        dropout(x, 0.1);
      } catch (caught) {
        return caught;
      }
    })();
    expect(TunekitError.isInstance(error) && error.code).toBe('GRAPH_INVALID');
    // Ratio 0 and no collector add nothing.
    expect(dropout(x, 0)).toBe(x);
    expect(createDropout(graph, undefined)(x, 0.5)).toBe(x);
  });

  it('draws inverted-dropout masks that depend only on (seed, step, micro-batch, site)', () => {
    const draw = (ratio: number, key: { seed: number; step: number; microBatch: number }, site: number) => {
      const mask = new Float32Array(200_000);
      fillDropoutMask(mask, ratio, key, site);
      return mask;
    };
    const key = { seed: 42, step: 7, microBatch: 1 };
    const mask = draw(0.25, key, 3);
    const dropped = mask.filter((value) => value === 0).length / mask.length;
    expect(dropped).toBeGreaterThan(0.245);
    expect(dropped).toBeLessThan(0.255);
    expect(new Set(mask)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
    // The expected value of a masked element is the element: E[mask] = 1.
    expect(mask.reduce((sum, value) => sum + value, 0) / mask.length).toBeCloseTo(1, 2);
    expect(draw(0.25, key, 3)).toEqual(mask);
    const agreement = (other: Float32Array) =>
      other.reduce((count, value, index) => count + (value === mask[index] ? 1 : 0), 0) / mask.length;
    // Independent masks agree on 0.75² + 0.25² = 62.5% of the elements.
    for (const other of [
      draw(0.25, key, 4),
      draw(0.25, { ...key, step: 8 }, 3),
      draw(0.25, { ...key, microBatch: 0 }, 3),
      draw(0.25, { ...key, seed: 43 }, 3),
    ]) {
      expect(agreement(other)).toBeGreaterThan(0.615);
      expect(agreement(other)).toBeLessThan(0.635);
    }
    expect(draw(1, key, 1).every((value) => value === 0)).toBe(true);
    expect(draw(0, key, 1).every((value) => value === 1)).toBe(true);
  });
});

// Fixtures written by tests/golden/{gpt2_lora,llama_lora,bert_lora}.py (dropout 0 there).
const fixtures = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const cases = [
  {
    name: 'gpt2',
    folder: './gpt2/fixtures/',
    prefix: '',
    dropout: { resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 },
  },
  {
    name: 'llama',
    folder: './llama/fixtures/llama/',
    prefix: '',
    dropout: { attention_dropout: 0.1 },
  },
  {
    name: 'bert',
    folder: './bert/fixtures/',
    prefix: 'bert.',
    dropout: { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 },
  },
  {
    name: 'distilbert',
    folder: './bert/fixtures/',
    prefix: 'distilbert.',
    dropout: { dropout: 0.1, attention_dropout: 0.1, seq_classif_dropout: 0.1 },
  },
];

describe.each(cases)('$name training graph with dropout', ({ name, folder, prefix, dropout }) => {
  it('with masks of ones gives the loss and gradients of the graph without dropout; drawn masks change them', async () => {
    const ort = await loadOnnxRuntime();
    const manifest = JSON.parse(await readFile(fixtures(`${folder}manifest.json`), 'utf8'));
    const spec = manifest.variants?.[name] ?? manifest;
    const architecture = getArchitecture(name);
    const weights = await readSafetensors(fixtures(`${folder}${prefix}weights.safetensors`));
    const adapter = await readSafetensors(fixtures(`${folder}${prefix}adapter.safetensors`));
    const build = (withDropout: boolean) =>
      architecture.buildTrainingGraph({
        config: architecture.configSchema.parse({ ...spec.config, ...dropout }),
        weights,
        lora: {
          config: resolveLoraConfig({
            ...manifest.lora,
            targetModules: spec.targetModules ?? manifest.lora.targetModules,
            dropout: 0.1,
          }),
          weights: adapter,
        },
        trainable: 'lora',
        dropout: withDropout,
      });
    const tensor = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
        rows.length,
        rows[0]?.length ?? 0,
      ]);
    const batch = { batch: spec.input_ids.length, sequence: spec.input_ids[0].length };
    const labels = Array.isArray(spec.labels[0])
      ? tensor(spec.labels)
      : new ort.Tensor('int64', BigInt64Array.from(spec.labels.map(BigInt)), [spec.labels.length]);
    const run = async (graph: TrainingGraph, masks: Record<string, Tensor>) => {
      const session: InferenceSession = await ort.InferenceSession.create(graph.model);
      const feeds: Record<string, Tensor> = {
        ...masks,
        input_ids: tensor(spec.input_ids),
        attention_mask: tensor(spec.attention_mask),
        labels,
      };
      for (const parameter of graph.parameters) {
        feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
      }
      const output = await session.run(feeds);
      await session.release();
      return graph.parameters.reduce<Record<string, Float32Array>>(
        (values, parameter) => {
          values[parameter.name] = (output[parameter.gradientName] as Tensor).data as Float32Array;
          return values;
        },
        { loss: (output.loss as Tensor).data as Float32Array },
      );
    };
    const plain = build(false);
    const withDropout = build(true);
    expect(plain.dropout).toBeUndefined();
    expect(withDropout.dropout?.masks.length).toBeGreaterThan(2);
    const feeds = new DropoutMaskFeeds(ort, withDropout.dropout as NonNullable<TrainingGraph['dropout']>);
    const reference = await run(plain, {});
    const ones = await run(withDropout, feeds.feeds(batch, undefined));
    for (const [key, values] of Object.entries(reference)) {
      const actual = ones[key] as Float32Array;
      for (let index = 0; index < values.length; index++) {
        expect(Math.abs((actual[index] as number) - (values[index] as number)), key).toBeLessThanOrEqual(
          1e-6 * Math.max(1, Math.abs(values[index] as number)),
        );
      }
    }
    const drawn = await run(withDropout, feeds.feeds(batch, { seed: 1, step: 1, microBatch: 0 }));
    expect(drawn.loss[0]).not.toBe(reference.loss[0]);
  });
});
