import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { checkGradients } from '../../autodiff/check-gradients.js';
import type { Value } from '../../onnx/graph.js';
import { createTrainer } from '../../train/create-trainer.js';
import { createModel } from '../create-model.js';
import { loadModel } from '../load-model.js';
import { buildRmsNorm, buildSiluGate } from './rms-norm.js';
import { applyRotaryEmbedding, buildRotaryTables, rotaryInverseFrequencies } from './rotary-embedding.js';

describe('Llama layers: finite-difference checks of the composed gradients (float64)', () => {
  it('RMSNorm (input and scale)', async () => {
    const result = await checkGradients({
      build: (graph, [x, weight]) => buildRmsNorm(graph, x as Value, weight as Value, 1e-6),
      inputs: [{ shape: [3, 8] }, { shape: [8], offset: 1 }],
    });
    for (const error of result.relativeErrors) expect(error).toBeLessThan(1e-6);
  });

  it('rotary embedding on queries with a grouped head axis and on keys', async () => {
    const frequencies = rotaryInverseFrequencies(4, 10000, { rope_type: 'linear', factor: 2 });
    const result = await checkGradients({
      build: (graph, [query, key]) => {
        const positions = graph.constant([3, 4, 5], 'int64', [1, 3]);
        const { cos, sin } = buildRotaryTables(graph, positions, frequencies, 'float64');
        const rotatedQuery = applyRotaryEmbedding(
          graph,
          query as Value,
          graph.unsqueeze(cos, [1]),
          graph.unsqueeze(sin, [1]),
        );
        const rotatedKey = applyRotaryEmbedding(graph, key as Value, cos, sin);
        return graph.add(rotatedQuery, graph.unsqueeze(rotatedKey, [2]));
      },
      inputs: [{ shape: [1, 2, 2, 3, 4] }, { shape: [1, 2, 3, 4] }],
    });
    for (const error of result.relativeErrors) expect(error).toBeLessThan(1e-6);
  });

  it('SiLU-gated MLP activation (gate and up)', async () => {
    const result = await checkGradients({
      build: (graph, [gate, up]) => buildSiluGate(graph, gate as Value, up as Value),
      inputs: [{ shape: [4, 5] }, { shape: [4, 5] }],
    });
    for (const error of result.relativeErrors) expect(error).toBeLessThan(1e-6);
  });
});

describe('rope_scaling', () => {
  it('linear divides every frequency; llama3 keeps high, divides low and blends the middle band', () => {
    const base = rotaryInverseFrequencies(8, 10000, null);
    expect(Array.from(base)).toEqual(Array.from(Float32Array.from([1, 0.1, 0.01, 0.001])));
    const linear = rotaryInverseFrequencies(8, 10000, { type: 'linear', factor: 4 });
    expect(linear[1]).toBeCloseTo((base[1] as number) / 4, 7);
    const llama3 = rotaryInverseFrequencies(8, 10000, {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8,
    });
    // Wavelengths 2π, 20π, 200π, 2000π against the band [8/4, 8/1].
    const smooth = (8 / (2 * Math.PI) - 1) / (4 - 1);
    expect(llama3[0]).toBeCloseTo((1 - smooth) * (1 / 8) + smooth * 1, 6);
    expect(llama3[2]).toBeCloseTo((base[2] as number) / 8, 9);
  });

  it('unsupported kinds and missing parameters fail with MODEL_UNSUPPORTED naming the kind', () => {
    for (const [scaling, pattern] of [
      [{ rope_type: 'yarn', factor: 4 }, /"yarn" is not supported/],
      [{ type: 'dynamic', factor: 2 }, /"dynamic" is not supported/],
      [{ rope_type: 'llama3', factor: 8 }, /llama3" lacks its parameters/],
    ] as const) {
      try {
        rotaryInverseFrequencies(8, 10000, scaling);
        expect.unreachable();
      } catch (error) {
        expect(TunekitError.isInstance(error) && error.code).toBe('MODEL_UNSUPPORTED');
        expect((error as Error).message).toMatch(pattern);
      }
    }
  });
});

describe('createModel + trainer with Llama and Qwen2', () => {
  it.each(['llama', 'qwen2'] as const)(
    '%s: a random folder loads back, training lowers the loss, greedy generation runs with the KV cache',
    async (architecture) => {
      const directory = await mkdtemp(join(tmpdir(), `tunekit-${architecture}-`));
      try {
        await createModel({
          architecture,
          directory,
          vocab_size: 260,
          hidden_size: 32,
          intermediate_size: 64,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          max_position_embeddings: 64,
          tie_word_embeddings: architecture === 'qwen2',
          seed: 3,
        });
        const config = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8'));
        expect(config.architectures).toEqual([
          architecture === 'llama' ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM',
        ]);
        const model = await loadModel(directory);
        expect(model.weights.has('lm_head.weight')).toBe(architecture === 'llama');
        expect(model.weights.has('model.layers.1.self_attn.k_proj.bias')).toBe(architecture === 'qwen2');
        expect(model.weights.get('model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([16, 32]);
        const trainer = await createTrainer({
          model: { ...model, directory },
          // From scratch the LM head (std 0.02) must move: full fine-tuning; LoRA parity is golden-tested.
          trainable: 'full',
          threads: 1,
        });
        const rows = Array.from({ length: 16 }, () => ({ text: 'abcabcabcabc abcabc' }));
        const result = await trainer.train(rows, {
          maxSteps: 30,
          batchSize: 4,
          maxLength: 24,
          learningRate: 0.01,
        });
        expect(result.lossHistory.at(-1)).toBeLessThan((result.lossHistory[0] as number) * 0.8);
        const generated = await trainer.generate('abcab', { temperature: 0, maxTokens: 4 });
        expect(generated.text.length).toBeGreaterThan(0);
        await trainer.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  );
});
