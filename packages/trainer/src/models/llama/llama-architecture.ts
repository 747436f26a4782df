import { Graph } from '../../onnx/graph.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { buildCausalTrainingGraph } from '../build-causal-training-graph.js';
import { declareCausalInferenceInputs } from '../declare-causal-inference-inputs.js';
import { declareCausalInferenceWeights } from '../declare-causal-inference-weights.js';
import { finishCausalInferenceGraph } from '../finish-causal-inference-graph.js';
import type {
  BuildInferenceGraphOptions,
  BuildTrainingGraphOptions,
  InferenceGraph,
  LoraAdapters,
  ModelArchitecture,
  TrainingGraph,
} from '../model-architecture.js';
import { resolveLoraAdapters } from '../resolve-lora-adapters.js';
import { buildLlamaForward } from './build-llama-forward.js';
import { type LlamaConfig, LlamaConfigSchema, llamaDimensions, Qwen2ConfigSchema } from './llama-config.js';
import {
  createLlamaWeights,
  llamaCheckpointTensorRole,
  llamaLinearModules,
  llamaWeightShapes,
  normalizeLlamaWeights,
} from './llama-weights.js';

const parseConfig = (config: LlamaConfig): LlamaConfig =>
  config.model_type === 'qwen2' ? Qwen2ConfigSchema.parse(config) : LlamaConfigSchema.parse(config);

/** Adapter tensors for the targeted modules: the given ones, PEFT-initialised where missing. */
function resolveAdapters(config: LlamaConfig, lora: LoraAdapters | undefined, weights: TensorMap) {
  if (!lora) return undefined;
  const resolved = resolveLoraAdapters(
    llamaLinearModules(config),
    lora,
    {
      modelName: config.model_type,
      moduleNames: 'q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj',
    },
    weights,
  );
  return { config: lora.config, resolved };
}

function buildTrainingGraph(options: BuildTrainingGraphOptions<LlamaConfig>): TrainingGraph {
  const config = parseConfig(options.config);
  const weights = normalizeLlamaWeights(config, options.weights);
  return buildCausalTrainingGraph(options, {
    name: `${config.model_type}-training`,
    weights,
    adapters: resolveAdapters(config, options.lora, weights),
    vocabularySize: config.vocab_size,
    linearModules: llamaLinearModules(config),
    linearLayout: 'out-in',
    forward: (graph, { values, ...inputs }) =>
      buildLlamaForward(graph, { config, weight: (name) => values.get(name), ...inputs }),
  });
}

function buildInferenceGraph(options: BuildInferenceGraphOptions<LlamaConfig>): InferenceGraph {
  const config = parseConfig(options.config);
  const weights = normalizeLlamaWeights(config, options.weights);
  const { keyValueHeads, headSize } = llamaDimensions(config);
  const graph = new Graph({ name: `${config.model_type}-inference` });
  const inputs = declareCausalInferenceInputs(graph, {
    kvCache: options.kvCache,
    layers: config.num_hidden_layers,
    cacheHeads: keyValueHeads,
    headSize,
  });
  const { values, lora, quantized } = declareCausalInferenceWeights(graph, {
    weights,
    adapters: resolveAdapters(config, options.lora, weights),
    quantization: options.quantization,
    linearModules: llamaLinearModules(config),
    linearLayout: 'out-in',
  });
  const forward = buildLlamaForward(graph, {
    config,
    weight: (name) => values.get(name),
    lora,
    quantized,
    ...inputs,
  });
  return finishCausalInferenceGraph(graph, {
    forward,
    vocabularySize: config.vocab_size,
    externalDataThreshold: options.externalDataThreshold,
    // The cache is per key/value head (grouped-query attention).
    dimensions: { layers: config.num_hidden_layers, heads: keyValueHeads, headSize },
  });
}

/**
 * Llama (`model_type: llama`): Hugging Face `LlamaForCausalLM` weights, LoRA on q/k/v/o_proj and
 * gate/up/down_proj (PEFT names `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).
 */
export const llamaArchitecture: ModelArchitecture<LlamaConfig> = {
  name: 'llama',
  configSchema: LlamaConfigSchema as unknown as ModelArchitecture<LlamaConfig>['configSchema'],
  createRandomWeights: (config, seed) => createLlamaWeights(parseConfig(config), seed),
  loraTargetModules: (config) => llamaLinearModules(parseConfig(config)),
  weightShapes: (config) => llamaWeightShapes(parseConfig(config)),
  checkpointTensorRole: (config, name) => llamaCheckpointTensorRole(parseConfig(config), name),
  buildTrainingGraph,
  buildInferenceGraph,
};

/** Qwen2 (`model_type: qwen2`): `Qwen2ForCausalLM`, Llama's graph with q/k/v biases. */
export const qwen2Architecture: ModelArchitecture<LlamaConfig> = {
  name: 'qwen2',
  configSchema: Qwen2ConfigSchema as unknown as ModelArchitecture<LlamaConfig>['configSchema'],
  createRandomWeights: (config, seed) => createLlamaWeights(parseConfig(config), seed),
  loraTargetModules: (config) => llamaLinearModules(parseConfig(config)),
  weightShapes: (config) => llamaWeightShapes(parseConfig(config)),
  checkpointTensorRole: (config, name) => llamaCheckpointTensorRole(parseConfig(config), name),
  buildTrainingGraph,
  buildInferenceGraph,
};
