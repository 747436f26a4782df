import type { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { gpt2Architecture } from '../models/gpt2/gpt2-architecture.js';
import { gpt2LinearModules } from '../models/gpt2/gpt2-weights.js';
import { qwen2Architecture } from '../models/llama/llama-architecture.js';
import type { LlamaConfig } from '../models/llama/llama-config.js';
import { llamaLinearModules } from '../models/llama/llama-weights.js';
import type { ModelArchitecture, TrainingGraph } from '../models/model-architecture.js';
import { dequantizedWeights } from '../testing/dequantized-weights.js';
import { relativeError } from '../testing/relative-error.js';

async function runGraph(graph: TrainingGraph, vocabulary: number): Promise<Record<string, Tensor>> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(graph.model);
  const ids = BigInt64Array.from({ length: 2 * 10 }, (_, index) => BigInt((index * 37 + 5) % vocabulary));
  const mask = BigInt64Array.from({ length: 20 }, (_, index) => (index >= 17 ? 0n : 1n));
  const labels = ids.map((id, index) => (mask[index] === 0n ? -100n : id));
  const feeds: Record<string, Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [2, 10]),
    attention_mask: new ort.Tensor('int64', mask, [2, 10]),
    labels: new ort.Tensor('int64', labels, [2, 10]),
  };
  for (const parameter of graph.parameters) {
    feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
  }
  return session.run(feeds);
}

describe('quantized training graphs equal float graphs on the dequantized weights', () => {
  const cases = [
    {
      name: 'GPT-2 (Conv1D [in, out], biases, tied head)',
      architecture: gpt2Architecture as ModelArchitecture<unknown>,
      config: { model_type: 'gpt2', vocab_size: 61, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2 },
      modules: (config: unknown) => gpt2LinearModules(config as never),
      layout: 'in-out' as const,
      targets: ['c_attn', 'c_proj', 'c_fc'],
    },
    {
      name: 'Qwen2 (q/k/v biases, tied embeddings, 4/1 heads)',
      architecture: qwen2Architecture as ModelArchitecture<unknown>,
      config: {
        model_type: 'qwen2',
        vocab_size: 67,
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 1,
        max_position_embeddings: 32,
        tie_word_embeddings: true,
        initializer_range: 0.2,
      },
      modules: (config: unknown) => llamaLinearModules(config as LlamaConfig),
      layout: 'out-in' as const,
      targets: ['q_proj', 'v_proj', 'down_proj'],
    },
  ];

  it.each(cases)('$name: loss and every LoRA gradient within 1e-5', async (testCase) => {
    const config = testCase.architecture.configSchema.parse(testCase.config);
    const weights = testCase.architecture.createRandomWeights(config, 11);
    const lora = {
      config: resolveLoraConfig({ r: 4, alpha: 8, targetModules: testCase.targets }),
      seed: 2,
    };
    const options = { config, lora, trainable: 'lora' as const, dropout: false };
    const quantizedGraph = testCase.architecture.buildTrainingGraph({
      ...options,
      weights,
      quantization: { bits: 4, blockSize: 16 },
    });
    const floatGraph = testCase.architecture.buildTrainingGraph({
      ...options,
      weights: dequantizedWeights(weights, testCase.modules(config), testCase.layout, 16),
    });
    // Non-zero B so that every adapter gradient (A's too) is non-trivial.
    for (const graph of [quantizedGraph, floatGraph]) {
      for (const parameter of graph.parameters) {
        if (parameter.name.includes('lora_B')) parameter.initial.fill(0.05);
      }
    }
    const vocabulary = (testCase.config as { vocab_size: number }).vocab_size;
    const [quantized, reference] = await Promise.all([
      runGraph(quantizedGraph, vocabulary),
      runGraph(floatGraph, vocabulary),
    ]);
    expect(
      relativeError(quantized.loss?.data as Float32Array, reference.loss?.data as Float32Array),
    ).toBeLessThan(1e-6);
    for (const parameter of quantizedGraph.parameters) {
      const error = relativeError(
        quantized[parameter.gradientName]?.data as Float32Array,
        reference[parameter.gradientName]?.data as Float32Array,
      );
      expect(error, parameter.name).toBeLessThan(1e-5);
    }
  });
});
