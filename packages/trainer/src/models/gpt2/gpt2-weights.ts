import type { LoraTargetModule } from '../../lora/lora-weights.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { checkWeightShapes } from '../check-weight-shapes.js';
import type { CheckpointTensorRole } from '../checkpoint-layout.js';
import { createNormalSampler } from '../create-normal-sampler.js';
import { type Gpt2Config, gpt2InnerSize } from './gpt2-config.js';

/**
 * Every GPT-2 weight name (Hugging Face `GPT2LMHeadModel`, Conv1D layout) with its shape;
 * `lm_head.weight` only when the head is not tied to the embeddings.
 */
export function gpt2WeightShapes(config: Gpt2Config): Map<string, number[]> {
  const d = config.n_embd;
  const inner = gpt2InnerSize(config);
  const shapes = new Map<string, number[]>([
    ['transformer.wte.weight', [config.vocab_size, d]],
    ['transformer.wpe.weight', [config.n_positions, d]],
  ]);
  for (let layer = 0; layer < config.n_layer; layer += 1) {
    const prefix = `transformer.h.${layer}`;
    shapes.set(`${prefix}.ln_1.weight`, [d]);
    shapes.set(`${prefix}.ln_1.bias`, [d]);
    shapes.set(`${prefix}.attn.c_attn.weight`, [d, 3 * d]);
    shapes.set(`${prefix}.attn.c_attn.bias`, [3 * d]);
    shapes.set(`${prefix}.attn.c_proj.weight`, [d, d]);
    shapes.set(`${prefix}.attn.c_proj.bias`, [d]);
    shapes.set(`${prefix}.ln_2.weight`, [d]);
    shapes.set(`${prefix}.ln_2.bias`, [d]);
    shapes.set(`${prefix}.mlp.c_fc.weight`, [d, inner]);
    shapes.set(`${prefix}.mlp.c_fc.bias`, [inner]);
    shapes.set(`${prefix}.mlp.c_proj.weight`, [inner, d]);
    shapes.set(`${prefix}.mlp.c_proj.bias`, [d]);
  }
  shapes.set('transformer.ln_f.weight', [d]);
  shapes.set('transformer.ln_f.bias', [d]);
  if (!config.tie_word_embeddings) shapes.set('lm_head.weight', [config.vocab_size, d]);
  return shapes;
}

/** The Conv1D modules of GPT-2 that LoRA can target, with their sizes. */
export function gpt2LinearModules(config: Gpt2Config): LoraTargetModule[] {
  const d = config.n_embd;
  const inner = gpt2InnerSize(config);
  const modules: LoraTargetModule[] = [];
  for (let layer = 0; layer < config.n_layer; layer += 1) {
    const prefix = `transformer.h.${layer}`;
    modules.push({ modulePath: `${prefix}.attn.c_attn`, inFeatures: d, outFeatures: 3 * d });
    modules.push({ modulePath: `${prefix}.attn.c_proj`, inFeatures: d, outFeatures: d });
    modules.push({ modulePath: `${prefix}.mlp.c_fc`, inFeatures: d, outFeatures: inner });
    modules.push({ modulePath: `${prefix}.mlp.c_proj`, inFeatures: inner, outFeatures: d });
  }
  return modules;
}

/**
 * What a GPT-2 checkpoint tensor is: the original files (`gpt2`, `distilgpt2` on the Hub) name the
 * transformer's tensors without the `transformer.` prefix (`h.0.attn.c_attn.weight`, `wte.weight`),
 * later ones with it; `attn.bias`/`attn.masked_bias` are buffers; `lm_head.weight` is a copy of the
 * embeddings when the head is tied and a weight of its own when `tie_word_embeddings` is false.
 */
export function gpt2CheckpointTensorRole(
  config: Gpt2Config,
  name: string,
  shapes: ReadonlyMap<string, number[]> = gpt2WeightShapes(config),
): CheckpointTensorRole {
  const canonical =
    name.startsWith('transformer.') || name.startsWith('lm_head.') ? name : `transformer.${name}`;
  if (/\.attn\.(masked_)?bias$/.test(canonical)) return { kind: 'buffer' };
  if (canonical === 'lm_head.weight' && config.tie_word_embeddings) {
    return { kind: 'tied', name: 'transformer.wte.weight' };
  }
  return shapes.has(canonical) ? { kind: 'weight', name: canonical } : { kind: 'unexpected' };
}

/**
 * Brings checkpoint tensors to the builders' names (see {@link gpt2CheckpointTensorRole}: the
 * `transformer.` prefix added, buffers and a tied `lm_head.weight` dropped, an untied one kept) and
 * checks every expected tensor is present with its shape (`MODEL_INVALID`).
 */
export function normalizeGpt2Weights(config: Gpt2Config, weights: TensorMap): TensorMap {
  const shapes = gpt2WeightShapes(config);
  const normalized: TensorMap = new Map();
  for (const [name, tensor] of weights) {
    const role = gpt2CheckpointTensorRole(config, name, shapes);
    if (role.kind === 'weight') normalized.set(role.name, tensor);
  }
  checkWeightShapes(normalized, shapes, { modelName: 'GPT-2' });
  return normalized;
}

/**
 * Random GPT-2 weights as Hugging Face initialises them: normal(0, initializer_range) for
 * embeddings and projections (output projections scaled by 1/√(2·n_layer)), zero biases,
 * unit LayerNorm scales. Deterministic for a seed.
 */
export function createGpt2Weights(config: Gpt2Config, seed: number): TensorMap {
  const normal = createNormalSampler(seed);
  const weights: TensorMap = new Map();
  for (const [name, shape] of gpt2WeightShapes(config)) {
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    if (/ln_[12f]\.weight$/.test(name)) data.fill(1);
    else if (name.endsWith('.weight')) {
      const std = name.endsWith('c_proj.weight')
        ? config.initializer_range / Math.sqrt(2 * config.n_layer)
        : config.initializer_range;
      for (let index = 0; index < data.length; index += 1) data[index] = normal() * std;
    }
    weights.set(name, { shape, data });
  }
  return weights;
}
