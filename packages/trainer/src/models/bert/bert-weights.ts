import { tunekitError } from '@tunekit/core';
import type { LoraTargetModule } from '../../lora/lora-weights.js';
import type { TensorMap } from '../../safetensors/tensor-map.js';
import { checkWeightShapes } from '../check-weight-shapes.js';
import type { CheckpointTensorRole } from '../checkpoint-layout.js';
import { createNormalSampler } from '../create-normal-sampler.js';
import type { EncoderSettings } from './bert-config.js';

/** Hugging Face module paths of one encoder layer (without `.weight`/`.bias`). */
export interface EncoderLayerNames {
  query: string;
  key: string;
  value: string;
  attentionOutput: string;
  attentionNorm: string;
  intermediate: string;
  output: string;
  outputNorm: string;
}

/** Module paths of a BERT-family classifier, by variant. */
export interface EncoderNames {
  wordEmbeddings: string;
  positionEmbeddings: string;
  tokenTypeEmbeddings?: string;
  embeddingNorm: string;
  layer(index: number): EncoderLayerNames;
  /** Linear layers of the classification head, in order (BERT: pooler then classifier). */
  head: string[];
  /** Head modules trained with LoRA (PEFT's `modules_to_save` for sequence classification: `classifier`). */
  trainableHead: string[];
}

/** Hugging Face names of a variant (`bert.encoder.layer.0.attention.self.query` …). */
export function encoderNames(settings: EncoderSettings): EncoderNames {
  if (settings.variant === 'distilbert') {
    return {
      wordEmbeddings: 'distilbert.embeddings.word_embeddings',
      positionEmbeddings: 'distilbert.embeddings.position_embeddings',
      embeddingNorm: 'distilbert.embeddings.LayerNorm',
      layer: (index) => {
        const prefix = `distilbert.transformer.layer.${index}`;
        return {
          query: `${prefix}.attention.q_lin`,
          key: `${prefix}.attention.k_lin`,
          value: `${prefix}.attention.v_lin`,
          attentionOutput: `${prefix}.attention.out_lin`,
          attentionNorm: `${prefix}.sa_layer_norm`,
          intermediate: `${prefix}.ffn.lin1`,
          output: `${prefix}.ffn.lin2`,
          outputNorm: `${prefix}.output_layer_norm`,
        };
      },
      head: ['pre_classifier', 'classifier'],
      trainableHead: ['classifier'],
    };
  }
  const root = settings.variant;
  return {
    wordEmbeddings: `${root}.embeddings.word_embeddings`,
    positionEmbeddings: `${root}.embeddings.position_embeddings`,
    tokenTypeEmbeddings: `${root}.embeddings.token_type_embeddings`,
    embeddingNorm: `${root}.embeddings.LayerNorm`,
    layer: (index) => {
      const prefix = `${root}.encoder.layer.${index}`;
      return {
        query: `${prefix}.attention.self.query`,
        key: `${prefix}.attention.self.key`,
        value: `${prefix}.attention.self.value`,
        attentionOutput: `${prefix}.attention.output.dense`,
        attentionNorm: `${prefix}.attention.output.LayerNorm`,
        intermediate: `${prefix}.intermediate.dense`,
        output: `${prefix}.output.dense`,
        outputNorm: `${prefix}.output.LayerNorm`,
      };
    },
    head:
      settings.variant === 'roberta'
        ? ['classifier.dense', 'classifier.out_proj']
        : ['bert.pooler.dense', 'classifier'],
    trainableHead:
      settings.variant === 'roberta' ? ['classifier.dense', 'classifier.out_proj'] : ['classifier'],
  };
}

/** Every weight name of the classifier with its shape (Linear layout `[out, in]`). */
export function encoderWeightShapes(settings: EncoderSettings): Map<string, number[]> {
  const names = encoderNames(settings);
  const d = settings.hiddenSize;
  const shapes = new Map<string, number[]>([
    [`${names.wordEmbeddings}.weight`, [settings.vocabSize, d]],
    [`${names.positionEmbeddings}.weight`, [settings.maxPositions, d]],
  ]);
  if (names.tokenTypeEmbeddings)
    shapes.set(`${names.tokenTypeEmbeddings}.weight`, [settings.typeVocabSize, d]);
  shapes.set(`${names.embeddingNorm}.weight`, [d]);
  shapes.set(`${names.embeddingNorm}.bias`, [d]);
  const linear = (path: string, inFeatures: number, outFeatures: number) => {
    shapes.set(`${path}.weight`, [outFeatures, inFeatures]);
    shapes.set(`${path}.bias`, [outFeatures]);
  };
  const norm = (path: string) => {
    shapes.set(`${path}.weight`, [d]);
    shapes.set(`${path}.bias`, [d]);
  };
  for (let index = 0; index < settings.layers; index += 1) {
    const layer = names.layer(index);
    linear(layer.query, d, d);
    linear(layer.key, d, d);
    linear(layer.value, d, d);
    linear(layer.attentionOutput, d, d);
    norm(layer.attentionNorm);
    linear(layer.intermediate, d, settings.intermediateSize);
    linear(layer.output, settings.intermediateSize, d);
    norm(layer.outputNorm);
  }
  names.head.forEach((path, index) => {
    linear(path, d, index === names.head.length - 1 ? settings.numLabels : d);
  });
  return shapes;
}

/** The Linear modules LoRA can target (`query`, `key`, `value`, `dense` … / DistilBERT's `q_lin` …). */
export function encoderLinearModules(settings: EncoderSettings): LoraTargetModule[] {
  const names = encoderNames(settings);
  const d = settings.hiddenSize;
  const modules: LoraTargetModule[] = [];
  for (let index = 0; index < settings.layers; index += 1) {
    const layer = names.layer(index);
    for (const path of [layer.query, layer.key, layer.value, layer.attentionOutput]) {
      modules.push({ modulePath: path, inFeatures: d, outFeatures: d });
    }
    modules.push({ modulePath: layer.intermediate, inFeatures: d, outFeatures: settings.intermediateSize });
    modules.push({ modulePath: layer.output, inFeatures: settings.intermediateSize, outFeatures: d });
  }
  return modules;
}

/**
 * What a BERT-family checkpoint tensor is: `position_ids`/`token_type_ids` are buffers; the
 * pretraining heads (`cls.*` of BERT, `lm_head.*` of RoBERTa, `vocab_*` of DistilBERT) and RoBERTa's
 * pooler are modules a sequence classifier does not use; `gamma`/`beta` (old TensorFlow ports) are
 * LayerNorm `weight`/`bias`; every other known name is a weight.
 */
export function encoderCheckpointTensorRole(
  settings: EncoderSettings,
  name: string,
  shapes: ReadonlyMap<string, number[]> = encoderWeightShapes(settings),
): CheckpointTensorRole {
  if (/(^|\.)(position_ids|token_type_ids)$/.test(name)) return { kind: 'buffer' };
  const canonical = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  if (shapes.has(canonical)) return { kind: 'weight', name: canonical };
  if (/^(cls|lm_head|vocab_transform|vocab_layer_norm|vocab_projector)\.|^roberta\.pooler\./.test(name)) {
    return { kind: 'head' };
  }
  return { kind: 'unexpected' };
}

/** Tensor names of the classification head, which a pretraining checkpoint lacks (initialised on load). */
export function encoderHeadWeightNames(settings: EncoderSettings): string[] {
  return encoderNames(settings).head.flatMap((module) => [`${module}.weight`, `${module}.bias`]);
}

/**
 * Initial values for head tensors a checkpoint lacks, as transformers initialises a new head:
 * normal(0, initializer_range) weights, zero biases. Throws `MODEL_INVALID` for any other name.
 */
export function initializeEncoderHead(
  settings: EncoderSettings,
  names: readonly string[],
  seed: number,
): TensorMap {
  const shapes = encoderWeightShapes(settings);
  const head = new Set(encoderHeadWeightNames(settings));
  const normal = createNormalSampler(seed);
  const weights: TensorMap = new Map();
  for (const name of names) {
    const shape = shapes.get(name);
    if (!shape || !head.has(name)) {
      throw tunekitError(
        'MODEL_INVALID',
        `${settings.variant} weight "${name}" is missing (only the classification head can be initialised)`,
        { name },
      );
    }
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    if (name.endsWith('.weight')) {
      for (let index = 0; index < data.length; index += 1) data[index] = normal() * settings.initializerRange;
    }
    weights.set(name, { shape, data });
  }
  return weights;
}

/**
 * Brings checkpoint tensors to the builders' names (see {@link encoderCheckpointTensorRole}) and
 * checks every expected tensor is present with its shape (`MODEL_INVALID`).
 */
export function normalizeEncoderWeights(settings: EncoderSettings, weights: TensorMap): TensorMap {
  const expected = encoderWeightShapes(settings);
  const normalized: TensorMap = new Map();
  for (const [name, tensor] of weights) {
    const role = encoderCheckpointTensorRole(settings, name, expected);
    if (role.kind === 'weight') normalized.set(role.name, tensor);
  }
  checkWeightShapes(normalized, expected, {
    modelName: settings.variant,
    missingHint: ' (load the folder with loadModel to initialise a missing classification head)',
  });
  return normalized;
}

/**
 * Random weights as Hugging Face initialises them: normal(0, initializer_range) for embeddings and
 * Linear weights, zero biases, unit LayerNorm scales, a zero embedding row for the padding id.
 */
export function createEncoderWeights(settings: EncoderSettings, seed: number): TensorMap {
  const normal = createNormalSampler(seed);
  const names = encoderNames(settings);
  const norms = new Set<string>([names.embeddingNorm]);
  for (let index = 0; index < settings.layers; index += 1) {
    norms.add(names.layer(index).attentionNorm);
    norms.add(names.layer(index).outputNorm);
  }
  const weights: TensorMap = new Map();
  for (const [name, shape] of encoderWeightShapes(settings)) {
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    const module = name.slice(0, name.lastIndexOf('.'));
    if (norms.has(module)) {
      if (name.endsWith('.weight')) data.fill(1);
    } else if (name.endsWith('.weight')) {
      for (let index = 0; index < data.length; index += 1) data[index] = normal() * settings.initializerRange;
    }
    if (
      module === names.wordEmbeddings ||
      (module === names.positionEmbeddings && settings.variant === 'roberta')
    ) {
      const d = settings.hiddenSize;
      if (settings.padTokenId < (shape[0] as number))
        data.fill(0, settings.padTokenId * d, (settings.padTokenId + 1) * d);
    }
    weights.set(name, { shape, data });
  }
  return weights;
}
