import type { LoraTargetModule } from '../../lora/lora-weights.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { checkWeightShapes } from '../check-weight-shapes.js';
import type { CheckpointTensorRole } from '../checkpoint-layout.js';
import { createNormalSampler } from '../create-normal-sampler.js';
import { type LlamaConfig, llamaDimensions } from './llama-config.js';

/** The Linear modules of a Llama-family model (all LoRA targets), with their sizes. */
export function llamaLinearModules(config: LlamaConfig): LoraTargetModule[] {
  const { hidden, heads, keyValueHeads, headSize, intermediate } = llamaDimensions(config);
  const modules: LoraTargetModule[] = [];
  for (let layer = 0; layer < config.num_hidden_layers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    modules.push(
      { modulePath: `${prefix}.self_attn.q_proj`, inFeatures: hidden, outFeatures: heads * headSize },
      { modulePath: `${prefix}.self_attn.k_proj`, inFeatures: hidden, outFeatures: keyValueHeads * headSize },
      { modulePath: `${prefix}.self_attn.v_proj`, inFeatures: hidden, outFeatures: keyValueHeads * headSize },
      { modulePath: `${prefix}.self_attn.o_proj`, inFeatures: heads * headSize, outFeatures: hidden },
      { modulePath: `${prefix}.mlp.gate_proj`, inFeatures: hidden, outFeatures: intermediate },
      { modulePath: `${prefix}.mlp.up_proj`, inFeatures: hidden, outFeatures: intermediate },
      { modulePath: `${prefix}.mlp.down_proj`, inFeatures: intermediate, outFeatures: hidden },
    );
  }
  return modules;
}

/**
 * Every weight of `LlamaForCausalLM` / `Qwen2ForCausalLM` under Hugging Face names (Linear layout
 * `[out, in]`), with its shape; `lm_head.weight` only when the embeddings are not tied.
 */
export function llamaWeightShapes(config: LlamaConfig): Map<string, number[]> {
  const dimensions = llamaDimensions(config);
  const hidden = dimensions.hidden;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [config.vocab_size, hidden]]]);
  const modules = llamaLinearModules(config);
  for (let layer = 0; layer < config.num_hidden_layers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [hidden]);
    for (const module of modules.filter((item) => item.modulePath.startsWith(`${prefix}.`))) {
      shapes.set(`${module.modulePath}.weight`, [module.outFeatures, module.inFeatures]);
      const name = module.modulePath.split('.').at(-1) as string;
      const biased =
        (['q_proj', 'k_proj', 'v_proj'].includes(name) && dimensions.queryKeyValueBias) ||
        (name === 'o_proj' && dimensions.outputBias) ||
        (name.endsWith('_proj') && module.modulePath.includes('.mlp.') && config.mlp_bias);
      if (biased) shapes.set(`${module.modulePath}.bias`, [module.outFeatures]);
    }
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [hidden]);
  }
  shapes.set('model.norm.weight', [hidden]);
  if (!config.tie_word_embeddings) shapes.set('lm_head.weight', [config.vocab_size, hidden]);
  return shapes;
}

/**
 * What a Llama/Qwen2 checkpoint tensor is: `rotary_emb.inv_freq` is a buffer (older files store it),
 * `lm_head.weight` a copy of the embeddings when they are tied (some files store it anyway), every
 * other known name a weight.
 */
export function llamaCheckpointTensorRole(
  config: LlamaConfig,
  name: string,
  shapes: ReadonlyMap<string, number[]> = llamaWeightShapes(config),
): CheckpointTensorRole {
  if (name.endsWith('rotary_emb.inv_freq')) return { kind: 'buffer' };
  if (name === 'lm_head.weight' && config.tie_word_embeddings) {
    return { kind: 'tied', name: 'model.embed_tokens.weight' };
  }
  return shapes.has(name) ? { kind: 'weight', name } : { kind: 'unexpected' };
}

/**
 * Checks a checkpoint against the config: every expected tensor present with its shape. Drops
 * buffers (`rotary_emb.inv_freq`) and a tied `lm_head.weight` that some files store anyway.
 */
export function normalizeLlamaWeights(config: LlamaConfig, weights: TensorMap): TensorMap {
  const shapes = llamaWeightShapes(config);
  const normalized: TensorMap = new Map();
  for (const [name, tensor] of weights) {
    const role = llamaCheckpointTensorRole(config, name, shapes);
    if (role.kind === 'weight') normalized.set(role.name, tensor);
  }
  checkWeightShapes(normalized, shapes, { modelName: config.model_type });
  return normalized;
}

/**
 * Random weights as Hugging Face initialises a Llama-family model: normal(0, initializer_range)
 * for embeddings and Linear weights, zero biases, unit RMSNorm scales. Deterministic for a seed.
 */
export function createLlamaWeights(config: LlamaConfig, seed: number): TensorMap {
  const normal = createNormalSampler(seed);
  const weights: TensorMap = new Map();
  for (const [name, shape] of llamaWeightShapes(config)) {
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    if (name.endsWith('norm.weight')) data.fill(1);
    else if (name.endsWith('.weight')) {
      for (let index = 0; index < data.length; index += 1) data[index] = normal() * config.initializer_range;
    }
    weights.set(name, { shape, data });
  }
  return weights;
}
