import { TunekitError } from '@tunekit/core';
import type { z } from 'zod';
import { addGradients } from '../../autodiff/add-gradients.js';
import {
  initializeLoraWeights,
  isLoraTarget,
  loraTensorNames,
  PEFT_PREFIX,
} from '../../lora/lora-weights.js';
import { Graph, type Value } from '../../onnx/graph.js';
import { serializeModelAuto } from '../../onnx/serialize-model.js';
import type { FloatTensor, TensorMap } from '../../safetensors/tensor-map.js';
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
import {
  type BertConfig,
  BertConfigSchema,
  type BertFamilyConfig,
  type DistilBertConfig,
  DistilBertConfigSchema,
  type EncoderSettings,
  encoderSettings,
  type RobertaConfig,
  RobertaConfigSchema,
} from './bert-config.js';
import {
  createEncoderWeights,
  encoderLinearModules,
  encoderNames,
  normalizeEncoderWeights,
} from './bert-weights.js';
import { buildBertForward } from './build-bert-forward.js';

/** PEFT name of a `modules_to_save` tensor (`base_model.model.classifier.weight`). */
export function moduleToSaveName(tensorName: string): string {
  return `${PEFT_PREFIX}${tensorName}`;
}

/**
 * The trained head tensors of a LoRA classifier (PEFT's `modules_to_save`): their Hugging Face names
 * (`classifier.weight` …) and PEFT names (`base_model.model.classifier.weight` …).
 */
export function trainableHeadTensors(settings: EncoderSettings): Array<{ name: string; peftName: string }> {
  return encoderNames(settings).trainableHead.flatMap((module) =>
    ['weight', 'bias'].map((kind) => ({
      name: `${module}.${kind}`,
      peftName: moduleToSaveName(`${module}.${kind}`),
    })),
  );
}

/**
 * Adapter tensors: LoRA A/B of the targeted modules plus the head copies (`modules_to_save`), the
 * given ones or initialised (PEFT: A Kaiming-uniform, B zeros, head copied from the base).
 */
function resolveAdapters(
  settings: EncoderSettings,
  weights: TensorMap,
  lora: LoraAdapters,
): { modules: string[]; tensors: TensorMap } {
  const targets = encoderLinearModules(settings).filter((module) =>
    isLoraTarget(lora.config, module.modulePath),
  );
  if (targets.length === 0) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: `LoRA targetModules [${lora.config.targetModules}] match no ${settings.variant} module (${
        settings.variant === 'distilbert'
          ? 'q_lin, k_lin, v_lin, out_lin, lin1, lin2'
          : 'query, key, value, dense'
      })`,
      details: { targetModules: lora.config.targetModules },
    });
  }
  const initial = initializeLoraWeights(lora.config, targets, lora.seed ?? 0);
  const tensors: TensorMap = new Map();
  for (const module of targets) {
    const names = loraTensorNames(module.modulePath);
    for (const name of [names.a, names.b]) {
      tensors.set(name, lora.weights?.get(name) ?? (initial.get(name) as FloatTensor));
    }
  }
  for (const head of trainableHeadTensors(settings)) {
    const base = weights.get(head.name) as FloatTensor;
    tensors.set(
      head.peftName,
      lora.weights?.get(head.peftName) ?? { shape: [...base.shape], data: base.data.slice() },
    );
  }
  return { modules: targets.map((module) => module.modulePath), tensors };
}

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

/** Declares base weights and adapters; LoRA head copies replace the frozen head in the lookup. */
function declareModel(
  graph: Graph,
  settings: EncoderSettings,
  weights: TensorMap,
  lora: LoraAdapters | undefined,
  trainAdapters: boolean,
  full: boolean,
  parameters: TrainableParameter[],
) {
  const head = lora ? trainableHeadTensors(settings) : [];
  const replaced = new Set(head.map((tensor) => tensor.name));
  const base: TensorMap = new Map([...weights].filter(([name]) => !replaced.has(name)));
  const values = declareWeights(graph, base, () => full, parameters);
  let loraValues: { config: LoraAdapters['config']; modules: Map<string, LoraModuleValues> } | undefined;
  if (lora) {
    const adapters = resolveAdapters(settings, weights, lora);
    for (const [name, value] of declareWeights(graph, adapters.tensors, () => trainAdapters, parameters))
      values.set(name, value);
    for (const tensor of head) values.set(tensor.name, values.get(tensor.peftName) as Value);
    loraValues = {
      config: lora.config,
      modules: new Map(
        adapters.modules.map((modulePath) => {
          const names = loraTensorNames(modulePath);
          return [modulePath, { a: values.get(names.a) as Value, b: values.get(names.b) as Value }];
        }),
      ),
    };
  }
  return { weight: (name: string) => values.get(name) as Value, lora: loraValues };
}

function makeArchitecture<Config extends BertFamilyConfig>(
  name: Config['model_type'],
  schema: z.ZodType<Config>,
): ModelArchitecture<Config> {
  const parse = (config: Config) => {
    const parsed = schema.parse(config);
    return { parsed, settings: encoderSettings(parsed) };
  };

  const buildTrainingGraph = (options: BuildTrainingGraphOptions<Config>): TrainingGraph => {
    const { settings } = parse(options.config);
    const weights = normalizeEncoderWeights(settings, options.weights);
    if (options.trainable === 'lora' && !options.lora) {
      throw new TunekitError({
        code: 'VALIDATION_FAILED',
        status: 400,
        message: 'trainable "lora" needs LoRA settings',
        details: {},
      });
    }
    const graph = new Graph({ name: `${name}-classification-training` });
    const batch = options.batchSize ?? 'batch';
    const sequence = options.sequenceLength ?? 'sequence';
    const inputIds = graph.input('input_ids', 'int64', [batch, sequence]);
    const attentionMask = graph.input('attention_mask', 'int64', [batch, sequence]);
    const labels = graph.input('labels', 'int64', [batch]);
    const parameters: TrainableParameter[] = [];
    const full = options.trainable === 'full';
    const model = declareModel(graph, settings, weights, options.lora, true, full, parameters);
    const logits = buildBertForward(graph, {
      settings,
      weight: model.weight,
      lora: model.lora,
      dropout: options.dropout ? { seed: options.dropoutSeed ?? 0 } : undefined,
      inputIds,
      attentionMask,
    });
    const loss = graph.scope('loss', () =>
      graph.softmaxCrossEntropyLoss(logits, labels, { ignoreIndex: -100 }),
    );
    graph.output(loss, 'loss');
    if (options.gradients !== false) {
      const gradients = addGradients(graph, {
        loss,
        wrt: parameters.map((parameter) => graph.value(parameter.inputName)),
      });
      for (const parameter of parameters) {
        graph.output(gradients.get(parameter.inputName) as Value, parameter.gradientName);
      }
    }
    if (options.outputLogits) graph.output(graph.identity(logits), 'logits');
    const serialized = serializeModelAuto(graph, options.externalDataThreshold);
    return {
      model: serialized.model,
      externalData: serialized.externalData,
      inputNames: { inputIds: 'input_ids', attentionMask: 'attention_mask', labels: 'labels' },
      parameters,
      lossName: 'loss',
      logitsName: options.outputLogits ? 'logits' : undefined,
    };
  };

  const buildInferenceGraph = (options: BuildInferenceGraphOptions<Config>): InferenceGraph => {
    const { settings } = parse(options.config);
    const weights = normalizeEncoderWeights(settings, options.weights);
    const graph = new Graph({ name: `${name}-classification` });
    const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
    const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
    const model = declareModel(graph, settings, weights, options.lora, false, false, []);
    const logits = buildBertForward(graph, {
      settings,
      weight: model.weight,
      lora: model.lora,
      inputIds,
      attentionMask,
    });
    graph.output(graph.identity(logits), 'logits');
    const serialized = serializeModelAuto(graph, options.externalDataThreshold);
    return {
      model: serialized.model,
      externalData: serialized.externalData,
      inputNames: graph.inputs.map((input) => input.name),
      outputNames: graph.outputs.map((output) => output.name),
      layers: settings.layers,
      heads: settings.heads,
      headSize: settings.hiddenSize / settings.heads,
    };
  };

  return {
    name,
    task: 'sequence-classification',
    configSchema: schema,
    createRandomWeights: (config, seed) => createEncoderWeights(parse(config).settings, seed),
    buildTrainingGraph,
    buildInferenceGraph,
  };
}

/**
 * BERT (`model_type: bert`, `BertForSequenceClassification`): LoRA on `query`/`value` (any of
 * `query`, `key`, `value`, `dense`) with the `classifier` trained as PEFT's `modules_to_save`.
 * Training graphs take `labels` as int64 `[batch]` class ids and output the mean cross-entropy.
 */
export const bertArchitecture: ModelArchitecture<BertConfig> = makeArchitecture<BertConfig>(
  'bert',
  BertConfigSchema as unknown as z.ZodType<BertConfig>,
);

/** RoBERTa (`model_type: roberta`, `RobertaForSequenceClassification`), head `classifier.dense` + `out_proj`. */
export const robertaArchitecture: ModelArchitecture<RobertaConfig> = makeArchitecture<RobertaConfig>(
  'roberta',
  RobertaConfigSchema as unknown as z.ZodType<RobertaConfig>,
);

/** DistilBERT (`model_type: distilbert`, `DistilBertForSequenceClassification`), LoRA on `q_lin`/`v_lin`. */
export const distilBertArchitecture: ModelArchitecture<DistilBertConfig> = makeArchitecture<DistilBertConfig>(
  'distilbert',
  DistilBertConfigSchema as unknown as z.ZodType<DistilBertConfig>,
);
