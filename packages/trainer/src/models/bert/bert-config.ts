import { z } from 'zod';

/** Fills `id2label`/`label2id` from `num_labels` (Hugging Face derives one from the other the same way). */
function withLabels(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const record = { ...(input as Record<string, unknown>) };
  if (record.id2label === undefined) {
    const count = typeof record.num_labels === 'number' ? record.num_labels : 2;
    record.id2label = Object.fromEntries(
      Array.from({ length: count }, (_, index) => [index, `LABEL_${index}`]),
    );
  }
  if (record.label2id === undefined && typeof record.id2label === 'object' && record.id2label !== null) {
    record.label2id = Object.fromEntries(
      Object.entries(record.id2label as Record<string, string>).map(([id, label]) => [label, Number(id)]),
    );
  }
  delete record.num_labels;
  return record;
}

const classificationKeys = {
  id2label: z.record(z.string(), z.string()),
  label2id: z.record(z.string(), z.number().int()),
  problem_type: z.enum(['single_label_classification']).nullable().default('single_label_classification'),
};

/** BERT (`BertForSequenceClassification`) settings as in Hugging Face's `config.json`; unknown keys kept. */
export const BertConfigSchema = z.preprocess(
  withLabels,
  z.looseObject({
    model_type: z.literal('bert').default('bert'),
    vocab_size: z.number().int().positive().default(30522),
    hidden_size: z.number().int().positive().default(768),
    num_hidden_layers: z.number().int().positive().default(12),
    num_attention_heads: z.number().int().positive().default(12),
    intermediate_size: z.number().int().positive().default(3072),
    hidden_act: z.enum(['gelu', 'relu', 'gelu_new']).default('gelu'),
    hidden_dropout_prob: z.number().min(0).max(1).default(0.1),
    attention_probs_dropout_prob: z.number().min(0).max(1).default(0.1),
    classifier_dropout: z.number().min(0).max(1).nullable().default(null),
    max_position_embeddings: z.number().int().positive().default(512),
    type_vocab_size: z.number().int().positive().default(2),
    initializer_range: z.number().positive().default(0.02),
    layer_norm_eps: z.number().positive().default(1e-12),
    pad_token_id: z.number().int().min(0).default(0),
    position_embedding_type: z.literal('absolute').default('absolute'),
    architectures: z.array(z.string()).default(['BertForSequenceClassification']),
    ...classificationKeys,
  }),
);
/** Parsed BERT config. */
export type BertConfig = z.infer<typeof BertConfigSchema>;

/**
 * RoBERTa (`RobertaForSequenceClassification`): BERT's encoder with positions starting after the
 * padding id (`pad_token_id + 1`), one token type and a two-layer classification head.
 */
export const RobertaConfigSchema = z.preprocess(
  withLabels,
  z.looseObject({
    model_type: z.literal('roberta').default('roberta'),
    vocab_size: z.number().int().positive().default(50265),
    hidden_size: z.number().int().positive().default(768),
    num_hidden_layers: z.number().int().positive().default(12),
    num_attention_heads: z.number().int().positive().default(12),
    intermediate_size: z.number().int().positive().default(3072),
    hidden_act: z.enum(['gelu', 'relu', 'gelu_new']).default('gelu'),
    hidden_dropout_prob: z.number().min(0).max(1).default(0.1),
    attention_probs_dropout_prob: z.number().min(0).max(1).default(0.1),
    classifier_dropout: z.number().min(0).max(1).nullable().default(null),
    max_position_embeddings: z.number().int().positive().default(514),
    type_vocab_size: z.number().int().positive().default(1),
    initializer_range: z.number().positive().default(0.02),
    layer_norm_eps: z.number().positive().default(1e-5),
    pad_token_id: z.number().int().min(0).default(1),
    bos_token_id: z.number().int().default(0),
    eos_token_id: z.number().int().default(2),
    position_embedding_type: z.literal('absolute').default('absolute'),
    architectures: z.array(z.string()).default(['RobertaForSequenceClassification']),
    ...classificationKeys,
  }),
);
/** Parsed RoBERTa config. */
export type RobertaConfig = z.infer<typeof RobertaConfigSchema>;

/** DistilBERT (`DistilBertForSequenceClassification`): 6 layers, no token types, `pre_classifier` + ReLU head. */
export const DistilBertConfigSchema = z.preprocess(
  withLabels,
  z.looseObject({
    model_type: z.literal('distilbert').default('distilbert'),
    vocab_size: z.number().int().positive().default(30522),
    dim: z.number().int().positive().default(768),
    n_layers: z.number().int().positive().default(6),
    n_heads: z.number().int().positive().default(12),
    hidden_dim: z.number().int().positive().default(3072),
    activation: z.enum(['gelu', 'relu']).default('gelu'),
    dropout: z.number().min(0).max(1).default(0.1),
    attention_dropout: z.number().min(0).max(1).default(0.1),
    seq_classif_dropout: z.number().min(0).max(1).default(0.2),
    max_position_embeddings: z.number().int().positive().default(512),
    initializer_range: z.number().positive().default(0.02),
    pad_token_id: z.number().int().min(0).default(0),
    sinusoidal_pos_embds: z.literal(false).default(false),
    architectures: z.array(z.string()).default(['DistilBertForSequenceClassification']),
    ...classificationKeys,
  }),
);
/** Parsed DistilBERT config. */
export type DistilBertConfig = z.infer<typeof DistilBertConfigSchema>;

/** Any config of the BERT family. */
export type BertFamilyConfig = BertConfig | RobertaConfig | DistilBertConfig;

/** The sizes and switches the shared encoder builder needs, whatever the family member's key names. */
export interface EncoderSettings {
  variant: 'bert' | 'roberta' | 'distilbert';
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  activation: 'gelu' | 'relu' | 'gelu_new';
  maxPositions: number;
  /** 0 for DistilBERT (no token-type embeddings). */
  typeVocabSize: number;
  layerNormEpsilon: number;
  padTokenId: number;
  hiddenDropout: number;
  attentionDropout: number;
  classifierDropout: number;
  numLabels: number;
  initializerRange: number;
}

/** Reads the family-independent settings from a parsed BERT, RoBERTa or DistilBERT config. */
export function encoderSettings(config: BertFamilyConfig): EncoderSettings {
  const numLabels = Object.keys(config.id2label).length;
  if (config.model_type === 'distilbert') {
    const c = config as DistilBertConfig;
    return {
      variant: 'distilbert',
      vocabSize: c.vocab_size,
      hiddenSize: c.dim,
      layers: c.n_layers,
      heads: c.n_heads,
      intermediateSize: c.hidden_dim,
      activation: c.activation,
      maxPositions: c.max_position_embeddings,
      typeVocabSize: 0,
      layerNormEpsilon: 1e-12,
      padTokenId: c.pad_token_id,
      hiddenDropout: c.dropout,
      attentionDropout: c.attention_dropout,
      classifierDropout: c.seq_classif_dropout,
      numLabels,
      initializerRange: c.initializer_range,
    };
  }
  const c = config as BertConfig | RobertaConfig;
  return {
    variant: c.model_type,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    activation: c.hidden_act,
    maxPositions: c.max_position_embeddings,
    typeVocabSize: c.type_vocab_size,
    layerNormEpsilon: c.layer_norm_eps,
    padTokenId: c.pad_token_id,
    hiddenDropout: c.hidden_dropout_prob,
    attentionDropout: c.attention_probs_dropout_prob,
    classifierDropout: c.classifier_dropout ?? c.hidden_dropout_prob,
    numLabels,
    initializerRange: c.initializer_range,
  };
}

/** Positions a sequence can use: RoBERTa's start after the padding id, so it has `max − pad − 1`. */
export function encoderUsablePositions(settings: EncoderSettings): number {
  return settings.variant === 'roberta'
    ? settings.maxPositions - settings.padTokenId - 1
    : settings.maxPositions;
}
