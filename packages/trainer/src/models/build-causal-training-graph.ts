import { QuantizationConfigSchema } from '@tunekit/core';
import type { ResolvedLoraConfig } from '../lora/lora-config.js';
import type { LoraTargetModule } from '../lora/lora-weights.js';
import type { Graph, Value } from '../onnx/graph.js';
import {
  declareQuantizedLinears,
  type QuantizedLinearValues,
} from '../quantization/declare-quantized-linears.js';
import { type LinearWeightLayout, quantizeLinearWeights } from '../quantization/quantize-linear-weights.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { buildCausalLanguageModelLoss } from './causal-language-model-loss.js';
import type { DropoutMaskCollector } from './create-dropout.js';
import { declareModelWeights } from './declare-model-weights.js';
import { finishTrainingGraph } from './finish-training-graph.js';
import type { LoraGraphAdapters } from './lora-module-values.js';
import type { BuildTrainingGraphOptions, TrainingGraph } from './model-architecture.js';
import { reshapeCausalLogits } from './reshape-causal-logits.js';
import type { ResolvedLoraAdapters } from './resolve-lora-adapters.js';
import { startTrainingGraph } from './start-training-graph.js';

/** What a causal model's forward builder gets from {@link buildCausalTrainingGraph}. */
export interface CausalTrainingForwardInputs {
  /** Graph value of every declared weight and adapter tensor by name. */
  values: Map<string, Value>;
  /** The adapters to apply; undefined without LoRA. */
  lora: LoraGraphAdapters | undefined;
  /** Training-mode dropout masks when `dropout` is on (see `createDropout`). */
  dropout: DropoutMaskCollector | undefined;
  /** Input `input_ids`, int64 `[batch, sequence]`. */
  inputIds: Value;
  /** Input `attention_mask`, int64 `[batch, sequence]`. */
  attentionMask: Value;
  /**
   * The quantized frozen linear layers by module path when `quantization` is set (their `.weight`
   * is then absent from `values`): apply them with `buildQuantizedLinear`.
   */
  quantized: Map<string, QuantizedLinearValues> | undefined;
}

/** What {@link buildCausalTrainingGraph} needs back from a causal model's forward builder. */
export interface CausalTrainingForward {
  /** `[batch·sequence, vocab]`. */
  logits: Value;
  /** Final hidden states, the LM head's input `[batch·sequence, hidden]`. */
  hidden: Value;
  /** The LM head weight `[vocab, hidden]`. */
  headWeight: Value;
  /** Run-time `[batch, sequence]` of the input ids. */
  batchSequenceShape: Value;
}

/** Options of {@link buildCausalTrainingGraph}. */
export interface CausalTrainingGraphOptions {
  /** The graph's name (`gpt2-training` …). */
  name: string;
  /** Normalised base weights. */
  weights: TensorMap;
  /** The resolved adapters with their settings; undefined without LoRA. */
  adapters: { config: ResolvedLoraConfig; resolved: ResolvedLoraAdapters } | undefined;
  vocabularySize: number;
  /** The model's linear layers (what `quantization` quantizes) and how their weights are stored. */
  linearModules: readonly LoraTargetModule[];
  linearLayout: LinearWeightLayout;
  /** Builds the model's forward pass in the graph. */
  forward: (graph: Graph, inputs: CausalTrainingForwardInputs) => CausalTrainingForward;
}

/**
 * Builds a causal language model's training graph: inputs (token labels), base weights (trainable
 * with `trainable: 'full'`) and trainable adapters, the model's forward pass, the causal LM loss with
 * its hand-fused gradient seeds, the gradient outputs and the optional `logits`
 * `[batch, sequence, vocab]` ({@link startTrainingGraph}, {@link finishTrainingGraph}). With
 * `quantization`, the linear layers' weights become int4 block initializers
 * ({@link quantizeLinearWeights}) instead of float32 ones.
 */
export function buildCausalTrainingGraph(
  options: BuildTrainingGraphOptions<unknown>,
  model: CausalTrainingGraphOptions,
): TrainingGraph {
  const { graph, batch, sequence, inputIds, attentionMask, labels, parameters, dropout } = startTrainingGraph(
    options,
    {
      name: model.name,
      labels: 'per-token',
      quantizable: true,
    },
  );
  const quantization = options.quantization
    ? quantizeLinearWeights(
        model.weights,
        model.linearModules,
        model.linearLayout,
        QuantizationConfigSchema.parse(options.quantization),
      )
    : undefined;
  const { values, lora } = declareModelWeights(graph, {
    weights: quantization?.weights ?? model.weights,
    adapters: model.adapters,
    trainable: { base: options.trainable === 'full', adapters: true },
    parameters,
  });
  const quantized = quantization ? declareQuantizedLinears(graph, quantization.linears) : undefined;
  const forward = model.forward(graph, {
    values,
    lora,
    dropout,
    inputIds,
    attentionMask,
    quantized,
  });
  const reference = options.preference ? graph.input('reference_logps', 'float32', [batch]) : undefined;
  const { loss, seeds, sequenceLogProbabilities } = buildCausalLanguageModelLoss(graph, {
    hidden: forward.hidden,
    headWeight: forward.headWeight,
    chunkTokens: options.headChunkTokens,
    labels,
    batchSequenceShape: forward.batchSequenceShape,
    headWeightTrainable: parameters.some((parameter) => parameter.inputName === forward.headWeight.name),
    preference: options.preference && reference ? { beta: options.preference.beta, reference } : undefined,
  });
  if (options.preference) graph.output(graph.identity(sequenceLogProbabilities), 'sequence_logps');
  // Reverse mode starts below the LM head with the loss's hand-fused gradients.
  const trainingGraph = finishTrainingGraph(graph, options, {
    loss,
    seeds,
    parameters,
    dropout,
    logits: () => reshapeCausalLogits(graph, forward, model.vocabularySize, [batch, sequence]),
  });
  return options.preference
    ? {
        ...trainingGraph,
        preference: {
          beta: options.preference.beta,
          referenceInput: 'reference_logps',
          sequenceOutput: 'sequence_logps',
        },
      }
    : trainingGraph;
}
