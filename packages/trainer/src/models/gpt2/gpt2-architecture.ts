import { TunekitError } from '@tunekit/core';
import { addGradients } from '../../autodiff/add-gradients.js';
import { initializeLoraWeights, isLoraTarget, loraTensorNames } from '../../lora/lora-weights.js';
import { Graph, type Value } from '../../onnx/graph.js';
import { serializeModelAuto } from '../../onnx/serialize-model.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { buildCausalLanguageModelLoss } from '../causal-language-model-loss.js';
import type {
  BuildInferenceGraphOptions,
  BuildTrainingGraphOptions,
  InferenceGraph,
  LoraAdapters,
  ModelArchitecture,
  TrainableParameter,
  TrainingGraph,
} from '../model-architecture.js';
import { buildGpt2Forward, type LoraModuleValues } from './build-gpt2-forward.js';
import { type Gpt2Config, Gpt2ConfigSchema } from './gpt2-config.js';
import { createGpt2Weights, gpt2LinearModules, normalizeGpt2Weights } from './gpt2-weights.js';

/** Adapter tensors for the targeted modules: the given ones, PEFT-initialised where missing. */
function resolveAdapters(config: Gpt2Config, lora: LoraAdapters): { modules: string[]; tensors: TensorMap } {
  const targets = gpt2LinearModules(config).filter((module) => isLoraTarget(lora.config, module.modulePath));
  if (targets.length === 0) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: `LoRA targetModules [${lora.config.targetModules}] match no GPT-2 module (c_attn, c_proj, c_fc)`,
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
  trainable: (name: string) => boolean,
  parameters: TrainableParameter[],
): Map<string, Value> {
  const values = new Map<string, Value>();
  for (const [name, tensor] of tensors) {
    if (trainable(name)) {
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

function loraModuleValues(modules: string[], values: Map<string, Value>): Map<string, LoraModuleValues> {
  return new Map(
    modules.map((modulePath) => {
      const names = loraTensorNames(modulePath);
      return [modulePath, { a: values.get(names.a) as Value, b: values.get(names.b) as Value }];
    }),
  );
}

function buildTrainingGraph(options: BuildTrainingGraphOptions<Gpt2Config>): TrainingGraph {
  const config = Gpt2ConfigSchema.parse(options.config);
  const weights = normalizeGpt2Weights(config, options.weights);
  if (options.trainable === 'lora' && !options.lora) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: 'trainable "lora" needs LoRA settings',
      details: {},
    });
  }
  const graph = new Graph({ name: 'gpt2-training' });
  const batch = options.batchSize ?? 'batch';
  const sequence = options.sequenceLength ?? 'sequence';
  const inputIds = graph.input('input_ids', 'int64', [batch, sequence]);
  const attentionMask = graph.input('attention_mask', 'int64', [batch, sequence]);
  const labels = graph.input('labels', 'int64', [batch, sequence]);
  const parameters: TrainableParameter[] = [];
  const full = options.trainable === 'full';
  const values = declareWeights(graph, weights, () => full, parameters);
  let lora: { config: LoraAdapters['config']; modules: Map<string, LoraModuleValues> } | undefined;
  if (options.lora) {
    const adapters = resolveAdapters(config, options.lora);
    for (const [name, value] of declareWeights(graph, adapters.tensors, () => true, parameters))
      values.set(name, value);
    lora = { config: options.lora.config, modules: loraModuleValues(adapters.modules, values) };
  }
  const forward = buildGpt2Forward(graph, {
    config,
    weight: (name) => values.get(name) as Value,
    lora,
    dropout: options.dropout ? { seed: options.dropoutSeed ?? 0 } : undefined,
    inputIds,
    attentionMask,
  });
  const headWeight = values.get('transformer.wte.weight') as Value;
  const { loss, seeds } = buildCausalLanguageModelLoss(graph, {
    hidden: forward.hidden,
    headWeight,
    logits: forward.logits,
    labels,
    batchSequenceShape: forward.batchSequenceShape,
    headWeightTrainable: parameters.some((parameter) => parameter.inputName === headWeight.name),
  });
  graph.output(loss, 'loss');
  if (options.gradients !== false) {
    // Reverse mode starts below the LM head with the loss's hand-fused gradients.
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

function buildInferenceGraph(options: BuildInferenceGraphOptions<Gpt2Config>): InferenceGraph {
  const config = Gpt2ConfigSchema.parse(options.config);
  const weights = normalizeGpt2Weights(config, options.weights);
  const graph = new Graph({ name: 'gpt2-inference' });
  const heads = config.n_head;
  const headSize = config.n_embd / heads;
  const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = graph.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past = options.kvCache
    ? Array.from({ length: config.n_layer }, (_, layer) => ({
        key: graph.input(`past_key_values.${layer}.key`, 'float32', [
          'batch_size',
          heads,
          'past_sequence_length',
          headSize,
        ]),
        value: graph.input(`past_key_values.${layer}.value`, 'float32', [
          'batch_size',
          heads,
          'past_sequence_length',
          headSize,
        ]),
      }))
    : undefined;
  const values = declareWeights(graph, weights, () => false, []);
  let lora: { config: LoraAdapters['config']; modules: Map<string, LoraModuleValues> } | undefined;
  if (options.lora) {
    const adapters = resolveAdapters(config, options.lora);
    for (const [name, value] of declareWeights(graph, adapters.tensors, () => false, []))
      values.set(name, value);
    lora = { config: options.lora.config, modules: loraModuleValues(adapters.modules, values) };
  }
  const forward = buildGpt2Forward(graph, {
    config,
    weight: (name) => values.get(name) as Value,
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
    layers: config.n_layer,
    heads,
    headSize,
  };
}

/** GPT-2 (`model_type: gpt2`): Hugging Face `GPT2LMHeadModel` weights, LoRA on its Conv1D modules. */
export const gpt2Architecture: ModelArchitecture<Gpt2Config> = {
  name: 'gpt2',
  configSchema: Gpt2ConfigSchema as unknown as ModelArchitecture<Gpt2Config>['configSchema'],
  createRandomWeights: createGpt2Weights,
  buildTrainingGraph,
  buildInferenceGraph,
};
