import { z } from 'zod';
import type { ModelArchitecture } from '../models/model-architecture.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { bigramInferenceGraph, bigramTrainingGraph } from './bigram-graphs.js';

/** Config of the bigram test model. */
export interface BigramConfig {
  model_type: 'bigram';
  vocab_size: number;
  n_positions: number;
}

/**
 * A {@link ModelArchitecture} over the bigram fixture graphs (one weight `W`, full fine-tuning
 * only), so that the trainer facade can be tested without the GPT-2 builders.
 */
export const bigramArchitecture: ModelArchitecture<BigramConfig> = {
  name: 'bigram',
  configSchema: z.object({
    model_type: z.literal('bigram'),
    vocab_size: z.number().int().positive(),
    n_positions: z.number().int().positive(),
  }) as unknown as z.ZodType<BigramConfig>,
  createRandomWeights(config, seed): TensorMap {
    const size = config.vocab_size;
    const data = new Float32Array(size * size).map((_, index) => Math.sin(index * 12.9898 + seed) * 0.01);
    return new Map([['W', { shape: [size, size], data }]]);
  },
  buildTrainingGraph(options) {
    if (options.trainable !== 'full') throw new Error('the bigram fixture trains fully only');
    const weight = options.weights.get('W');
    if (!weight) throw new Error('bigram weights need W');
    return bigramTrainingGraph(options.config.vocab_size, weight.data.slice());
  },
  buildInferenceGraph(options) {
    const weight = options.weights.get('W');
    if (!weight) throw new Error('bigram weights need W');
    return {
      model: bigramInferenceGraph(options.config.vocab_size, weight.data),
      inputNames: [
        'input_ids',
        'attention_mask',
        'position_ids',
        'past_key_values.0.key',
        'past_key_values.0.value',
      ],
      outputNames: ['logits', 'present.0.key', 'present.0.value'],
      layers: 1,
      heads: 1,
      headSize: 1,
    };
  },
};
