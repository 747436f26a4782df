import { tunekitError } from '@tunekit/core';
import type { z } from 'zod';
import { peftTensorName } from '../../lora/peft-names.js';
import { Graph, type Value } from '../../onnx/graph.js';
import type { FloatTensor, TensorMap } from '../../safetensors/tensor-map.js';
import { buildClassificationLoss } from '../build-classification-loss.js';
import { declareModelWeights } from '../declare-model-weights.js';
import { finishInferenceGraph } from '../finish-inference-graph.js';
import { finishTrainingGraph } from '../finish-training-graph.js';
import type {
  BuildInferenceGraphOptions,
  BuildTrainingGraphOptions,
  InferenceGraph,
  LoraAdapters,
  ModelArchitecture,
  TrainableParameter,
  TrainingGraph,
} from '../model-architecture.js';
import { type ResolvedLoraAdapters, resolveLoraAdapters } from '../resolve-lora-adapters.js';
import { startTrainingGraph } from '../start-training-graph.js';
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
  encoderCheckpointTensorRole,
  encoderLinearModules,
  encoderNames,
  encoderWeightShapes,
  initializeEncoderHead,
  normalizeEncoderWeights,
} from './bert-weights.js';
import { buildBertForward } from './build-bert-forward.js';

/**
 * The trained head tensors of a LoRA classifier (PEFT's `modules_to_save`): their Hugging Face names
 * (`classifier.weight` …) and PEFT names (`base_model.model.classifier.weight` …).
 */
export function trainableHeadTensors(settings: EncoderSettings): Array<{ name: string; peftName: string }> {
  return encoderNames(settings).trainableHead.flatMap((module) =>
    ['weight', 'bias'].map((kind) => ({
      name: `${module}.${kind}`,
      peftName: peftTensorName(`${module}.${kind}`),
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
): ResolvedLoraAdapters {
  const adapters = resolveLoraAdapters(
    encoderLinearModules(settings),
    lora,
    {
      modelName: settings.variant,
      moduleNames:
        settings.variant === 'distilbert'
          ? 'q_lin, k_lin, v_lin, out_lin, lin1, lin2'
          : 'query, key, value, dense',
    },
    weights,
  );
  for (const head of trainableHeadTensors(settings)) {
    const base = weights.get(head.name) as FloatTensor;
    adapters.tensors.set(
      head.peftName,
      lora.weights?.get(head.peftName) ?? { shape: [...base.shape], data: base.data.slice() },
    );
  }
  return adapters;
}

/** Declares base weights and adapters; LoRA head copies replace the frozen head in the lookup. */
function declareModel(
  graph: Graph,
  settings: EncoderSettings,
  weights: TensorMap,
  lora: LoraAdapters | undefined,
  trainable: { base: boolean; adapters: boolean },
  parameters: TrainableParameter[],
) {
  const head = lora ? trainableHeadTensors(settings) : [];
  const replaced = new Set(head.map((tensor) => tensor.name));
  const base: TensorMap = new Map([...weights].filter(([name]) => !replaced.has(name)));
  const { values, lora: loraValues } = declareModelWeights(graph, {
    weights: base,
    adapters: lora ? { config: lora.config, resolved: resolveAdapters(settings, weights, lora) } : undefined,
    trainable,
    parameters,
  });
  for (const tensor of head) values.set(tensor.name, values.get(tensor.peftName) as Value);
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
    const { graph, inputIds, attentionMask, labels, parameters, dropout } = startTrainingGraph(options, {
      name: `${name}-classification-training`,
      labels: 'per-sequence',
    });
    const model = declareModel(
      graph,
      settings,
      weights,
      options.lora,
      { base: options.trainable === 'full', adapters: true },
      parameters,
    );
    const { logits } = buildBertForward(graph, {
      settings,
      weight: model.weight,
      lora: model.lora,
      dropout,
      inputIds,
      attentionMask,
    });
    const loss = buildClassificationLoss(graph, logits, labels);
    return finishTrainingGraph(graph, options, {
      loss,
      parameters,
      dropout,
      logits: () => graph.identity(logits),
    });
  };

  const buildInferenceGraph = (options: BuildInferenceGraphOptions<Config>): InferenceGraph => {
    if (options.quantization) {
      throw tunekitError(
        'MODEL_UNSUPPORTED',
        `quantization is not supported for ${name} graphs (GPT-2, Llama and Qwen2 only)`,
        { graph: `${name}-classification` },
      );
    }
    const { settings } = parse(options.config);
    const weights = normalizeEncoderWeights(settings, options.weights);
    const graph = new Graph({ name: `${name}-classification` });
    const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
    const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
    const model = declareModel(graph, settings, weights, options.lora, { base: false, adapters: false }, []);
    const outputs = buildBertForward(graph, {
      settings,
      weight: model.weight,
      lora: model.lora,
      inputIds,
      attentionMask,
    });
    graph.output(graph.identity(outputs.logits), 'logits');
    if (options.encoderOutputs) {
      graph.output(graph.identity(outputs.lastHiddenState), 'last_hidden_state');
      if (outputs.poolerOutput) graph.output(graph.identity(outputs.poolerOutput), 'pooler_output');
    }
    return finishInferenceGraph(graph, options.externalDataThreshold, {
      layers: settings.layers,
      heads: settings.heads,
      headSize: settings.hiddenSize / settings.heads,
    });
  };

  return {
    name,
    task: 'sequence-classification',
    configSchema: schema,
    createRandomWeights: (config, seed) => createEncoderWeights(parse(config).settings, seed),
    loraTargetModules: (config) => encoderLinearModules(parse(config).settings),
    weightShapes: (config) => encoderWeightShapes(parse(config).settings),
    checkpointTensorRole: (config, tensorName) =>
      encoderCheckpointTensorRole(parse(config).settings, tensorName),
    initializeMissingWeights: (config, names, seed) =>
      initializeEncoderHead(parse(config).settings, names, seed),
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
