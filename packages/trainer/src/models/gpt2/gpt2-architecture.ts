import { Graph, type Value } from '../../onnx/graph.js';
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
import { buildGpt2Forward } from './build-gpt2-forward.js';
import { type Gpt2Config, Gpt2ConfigSchema } from './gpt2-config.js';
import {
  createGpt2Weights,
  gpt2CheckpointTensorRole,
  gpt2LinearModules,
  gpt2WeightShapes,
  normalizeGpt2Weights,
} from './gpt2-weights.js';

/** Adapter tensors for the targeted modules: the given ones, PEFT-initialised where missing. */
function resolveAdapters(config: Gpt2Config, lora: LoraAdapters | undefined, weights: TensorMap) {
  if (!lora) return undefined;
  const resolved = resolveLoraAdapters(
    gpt2LinearModules(config),
    lora,
    { modelName: 'GPT-2', moduleNames: 'c_attn, c_proj, c_fc' },
    weights,
  );
  return { config: lora.config, resolved };
}

function buildTrainingGraph(options: BuildTrainingGraphOptions<Gpt2Config>): TrainingGraph {
  const config = Gpt2ConfigSchema.parse(options.config);
  const weights = normalizeGpt2Weights(config, options.weights);
  return buildCausalTrainingGraph(options, {
    name: 'gpt2-training',
    weights,
    adapters: resolveAdapters(config, options.lora, weights),
    vocabularySize: config.vocab_size,
    linearModules: gpt2LinearModules(config),
    linearLayout: 'in-out',
    forward: (graph, { values, ...inputs }) =>
      buildGpt2Forward(graph, { config, weight: (name) => values.get(name) as Value, ...inputs }),
  });
}

function buildInferenceGraph(options: BuildInferenceGraphOptions<Gpt2Config>): InferenceGraph {
  const config = Gpt2ConfigSchema.parse(options.config);
  const weights = normalizeGpt2Weights(config, options.weights);
  const graph = new Graph({ name: 'gpt2-inference' });
  const heads = config.n_head;
  const headSize = config.n_embd / heads;
  const inputs = declareCausalInferenceInputs(graph, {
    kvCache: options.kvCache,
    layers: config.n_layer,
    cacheHeads: heads,
    headSize,
  });
  const { values, lora, quantized } = declareCausalInferenceWeights(graph, {
    weights,
    adapters: resolveAdapters(config, options.lora, weights),
    quantization: options.quantization,
    linearModules: gpt2LinearModules(config),
    linearLayout: 'in-out',
  });
  const forward = buildGpt2Forward(graph, {
    config,
    weight: (name) => values.get(name) as Value,
    lora,
    quantized,
    ...inputs,
  });
  return finishCausalInferenceGraph(graph, {
    forward,
    vocabularySize: config.vocab_size,
    externalDataThreshold: options.externalDataThreshold,
    dimensions: { layers: config.n_layer, heads, headSize },
  });
}

/** GPT-2 (`model_type: gpt2`): Hugging Face `GPT2LMHeadModel` weights, LoRA on its Conv1D modules. */
export const gpt2Architecture: ModelArchitecture<Gpt2Config> = {
  name: 'gpt2',
  configSchema: Gpt2ConfigSchema as unknown as ModelArchitecture<Gpt2Config>['configSchema'],
  createRandomWeights: createGpt2Weights,
  loraTargetModules: (config) => gpt2LinearModules(Gpt2ConfigSchema.parse(config)),
  weightShapes: (config) => gpt2WeightShapes(Gpt2ConfigSchema.parse(config)),
  checkpointTensorRole: (config, name) => gpt2CheckpointTensorRole(Gpt2ConfigSchema.parse(config), name),
  buildTrainingGraph,
  buildInferenceGraph,
};
