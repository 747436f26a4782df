import { TunekitError } from '@tunekit/core';
import { addGradients } from '../../autodiff/add-gradients.js';
import { initializeLoraWeights, isLoraTarget, loraTensorNames } from '../../lora/lora-weights.js';
import { Graph, type Value } from '../../onnx/graph.js';
import { serializeModelAuto } from '../../onnx/serialize-model.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { buildCausalLanguageModelLoss } from '../causal-language-model-loss.js';
import type { LoraModuleValues } from '../gpt2/build-gpt2-forward.js';
import type {
  BuildInferenceGraphOptions,
  BuildTrainingGraphOptions,
  InferenceGraph,
  LoraAdapters,
  ModelArchitecture,
  TrainableParameter,
  TrainingGraph,
} from '../model-architecture.js';
import { buildLlamaForward } from './build-llama-forward.js';
import { type LlamaConfig, LlamaConfigSchema, llamaDimensions, Qwen2ConfigSchema } from './llama-config.js';
import { createLlamaWeights, llamaLinearModules, normalizeLlamaWeights } from './llama-weights.js';

const parseConfig = (config: LlamaConfig): LlamaConfig =>
  config.model_type === 'qwen2' ? Qwen2ConfigSchema.parse(config) : LlamaConfigSchema.parse(config);

/** Adapter tensors for the targeted modules: the given ones, PEFT-initialised where missing. */
function resolveAdapters(config: LlamaConfig, lora: LoraAdapters): { modules: string[]; tensors: TensorMap } {
  const targets = llamaLinearModules(config).filter((module) => isLoraTarget(lora.config, module.modulePath));
  if (targets.length === 0) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: `LoRA targetModules [${lora.config.targetModules}] match no ${config.model_type} module (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)`,
      details: { targetModules: lora.config.targetModules },
    });
  }
  const initial = initializeLoraWeights(lora.config, targets, lora.seed ?? 0);
  const tensors: TensorMap = new Map();
  for (const module of targets) {
    const names = loraTensorNames(module.modulePath);
    for (const name of [names.a, names.b]) {
      tensors.set(
        name,
        lora.weights?.get(name) ?? (initial.get(name) as NonNullable<ReturnType<TensorMap['get']>>),
      );
    }
  }
  return { modules: targets.map((module) => module.modulePath), tensors };
}

/** Declares weights as initializers (frozen) or inputs (trainable) and returns a lookup. */
function declareWeights(
  graph: Graph,
  tensors: TensorMap,
  trainable: boolean,
  parameters: TrainableParameter[],
): Map<string, Value> {
  const values = new Map<string, Value>();
  for (const [name, tensor] of tensors) {
    if (trainable) {
      values.set(name, graph.input(name, 'float32', tensor.shape));
      parameters.push({
        name,
        inputName: name,
        gradientName: `grad.${name}`,
        shape: [...tensor.shape],
        initial: Float32Array.from(tensor.data),
      });
    } else {
      values.set(name, graph.initializer(name, 'float32', tensor.shape, tensor.data));
    }
  }
  return values;
}

/** Base weights plus adapters as graph values, and the LoRA modules for the forward builder. */
function declareModel(
  graph: Graph,
  config: LlamaConfig,
  weights: TensorMap,
  lora: LoraAdapters | undefined,
  trainable: { base: boolean; adapters: boolean },
  parameters: TrainableParameter[],
) {
  const values = declareWeights(graph, weights, trainable.base, parameters);
  if (!lora) return { values, lora: undefined };
  const adapters = resolveAdapters(config, lora);
  for (const [name, value] of declareWeights(graph, adapters.tensors, trainable.adapters, parameters)) {
    values.set(name, value);
  }
  const modules = new Map<string, LoraModuleValues>(
    adapters.modules.map((modulePath) => {
      const names = loraTensorNames(modulePath);
      return [modulePath, { a: values.get(names.a) as Value, b: values.get(names.b) as Value }];
    }),
  );
  return { values, lora: { config: lora.config, modules } };
}

function buildTrainingGraph(options: BuildTrainingGraphOptions<LlamaConfig>): TrainingGraph {
  const config = parseConfig(options.config);
  const weights = normalizeLlamaWeights(config, options.weights);
  if (options.trainable === 'lora' && !options.lora) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: 'trainable "lora" needs LoRA settings',
      details: {},
    });
  }
  const graph = new Graph({ name: `${config.model_type}-training` });
  const batch = options.batchSize ?? 'batch';
  const sequence = options.sequenceLength ?? 'sequence';
  const inputIds = graph.input('input_ids', 'int64', [batch, sequence]);
  const attentionMask = graph.input('attention_mask', 'int64', [batch, sequence]);
  const labels = graph.input('labels', 'int64', [batch, sequence]);
  const parameters: TrainableParameter[] = [];
  const { values, lora } = declareModel(
    graph,
    config,
    weights,
    options.lora,
    { base: options.trainable === 'full', adapters: true },
    parameters,
  );
  const forward = buildLlamaForward(graph, {
    config,
    weight: (name) => values.get(name),
    lora,
    dropout: options.dropout ? { seed: options.dropoutSeed ?? 0 } : undefined,
    inputIds,
    attentionMask,
  });
  const { loss, seeds } = buildCausalLanguageModelLoss(graph, {
    hidden: forward.hidden,
    headWeight: forward.headWeight,
    logits: forward.logits,
    labels,
    batchSequenceShape: forward.batchSequenceShape,
    headWeightTrainable: parameters.some((parameter) => parameter.inputName === forward.headWeight.name),
  });
  graph.output(loss, 'loss');
  if (options.gradients !== false) {
    const gradients = addGradients(graph, {
      seeds,
      wrt: parameters.map((parameter) => graph.value(parameter.inputName)),
    });
    for (const parameter of parameters) {
      graph.output(gradients.get(parameter.inputName) as Value, parameter.gradientName);
    }
  }
  if (options.outputLogits) {
    const logitsShape = graph.concat([forward.batchSequenceShape, graph.int64s([config.vocab_size])], 0);
    graph.output(
      graph.reshapeLike(forward.logits, logitsShape, [batch, sequence, config.vocab_size]),
      'logits',
    );
  }
  const serialized = serializeModelAuto(graph, options.externalDataThreshold);
  return {
    model: serialized.model,
    externalData: serialized.externalData,
    inputNames: { inputIds: 'input_ids', attentionMask: 'attention_mask', labels: 'labels' },
    parameters,
    lossName: 'loss',
    logitsName: options.outputLogits ? 'logits' : undefined,
  };
}

function buildInferenceGraph(options: BuildInferenceGraphOptions<LlamaConfig>): InferenceGraph {
  const config = parseConfig(options.config);
  const weights = normalizeLlamaWeights(config, options.weights);
  const { keyValueHeads, headSize } = llamaDimensions(config);
  const graph = new Graph({ name: `${config.model_type}-inference` });
  const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = graph.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const cacheShape = ['batch_size', keyValueHeads, 'past_sequence_length', headSize];
  const past = options.kvCache
    ? Array.from({ length: config.num_hidden_layers }, (_, layer) => ({
        key: graph.input(`past_key_values.${layer}.key`, 'float32', cacheShape),
        value: graph.input(`past_key_values.${layer}.value`, 'float32', cacheShape),
      }))
    : undefined;
  const { values, lora } = declareModel(
    graph,
    config,
    weights,
    options.lora,
    { base: false, adapters: false },
    [],
  );
  const forward = buildLlamaForward(graph, {
    config,
    weight: (name) => values.get(name),
    lora,
    inputIds,
    attentionMask,
    positionIds,
    past,
  });
  const logitsShape = graph.concat([forward.batchSequenceShape, graph.int64s([config.vocab_size])], 0);
  graph.output(
    graph.reshapeLike(forward.logits, logitsShape, ['batch_size', 'sequence_length', config.vocab_size]),
    'logits',
  );
  forward.presents.forEach((present, layer) => {
    graph.output(present.key, `present.${layer}.key`);
    graph.output(present.value, `present.${layer}.value`);
  });
  const serialized = serializeModelAuto(graph, options.externalDataThreshold);
  return {
    model: serialized.model,
    externalData: serialized.externalData,
    inputNames: graph.inputs.map((input) => input.name),
    outputNames: graph.outputs.map((output) => output.name),
    layers: config.num_hidden_layers,
    // The cache is per key/value head (grouped-query attention).
    heads: keyValueHeads,
    headSize,
  };
}

/**
 * Llama (`model_type: llama`): Hugging Face `LlamaForCausalLM` weights, LoRA on q/k/v/o_proj and
 * gate/up/down_proj (PEFT names `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).
 */
export const llamaArchitecture: ModelArchitecture<LlamaConfig> = {
  name: 'llama',
  configSchema: LlamaConfigSchema as unknown as ModelArchitecture<LlamaConfig>['configSchema'],
  createRandomWeights: (config, seed) => createLlamaWeights(parseConfig(config), seed),
  buildTrainingGraph,
  buildInferenceGraph,
};

/** Qwen2 (`model_type: qwen2`): `Qwen2ForCausalLM`, Llama's graph with q/k/v biases. */
export const qwen2Architecture: ModelArchitecture<LlamaConfig> = {
  name: 'qwen2',
  configSchema: Qwen2ConfigSchema as unknown as ModelArchitecture<LlamaConfig>['configSchema'],
  createRandomWeights: (config, seed) => createLlamaWeights(parseConfig(config), seed),
  buildTrainingGraph,
  buildInferenceGraph,
};
