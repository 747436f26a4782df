import { addGradients } from '../autodiff/add-gradients.js';
import type { Graph, Value } from '../onnx/graph.js';
import { serializeModelAuto } from '../onnx/serialize-model.js';
import type { DropoutMaskCollector } from './create-dropout.js';
import type { BuildTrainingGraphOptions, TrainableParameter, TrainingGraph } from './model-architecture.js';

/** Options of {@link finishTrainingGraph}. */
export interface FinishTrainingGraphOptions {
  /** The scalar loss, output as `loss`. */
  loss: Value;
  /** Hand-fused starting points of reverse mode (see `addGradients`); without them it starts at `loss`. */
  seeds?: ReadonlyArray<{ value: Value; gradient: Value }>;
  /** The trainable parameters, whose gradients are output under their `gradientName`. */
  parameters: TrainableParameter[];
  /** The logits output as `logits` when `outputLogits` is set; called only then, after the gradients. */
  logits: () => Value;
  /** The dropout masks the forward pass recorded (from `startTrainingGraph`). */
  dropout?: DropoutMaskCollector;
}

/**
 * Ends a training graph: outputs `loss`, appends the gradients of every trainable parameter (unless
 * `gradients` is false) as outputs, optionally the `logits`, serializes the graph (external data
 * above `externalDataThreshold`) and returns the {@link TrainingGraph}.
 */
export function finishTrainingGraph(
  graph: Graph,
  options: BuildTrainingGraphOptions<unknown>,
  ending: FinishTrainingGraphOptions,
): TrainingGraph {
  const { parameters } = ending;
  graph.output(ending.loss, 'loss');
  if (options.gradients !== false) {
    const wrt = parameters.map((parameter) => graph.value(parameter.inputName));
    const gradients = addGradients(
      graph,
      ending.seeds
        ? { seeds: ending.seeds, wrt, recompute: options.gradientCheckpointing }
        : { loss: ending.loss, wrt, recompute: options.gradientCheckpointing },
    );
    for (const parameter of parameters) {
      graph.output(gradients.get(parameter.inputName) as Value, parameter.gradientName);
    }
  }
  if (options.outputLogits) graph.output(ending.logits(), 'logits');
  const serialized = serializeModelAuto(graph, options.externalDataThreshold);
  return {
    model: serialized.model,
    externalData: serialized.externalData,
    externalFolder: serialized.externalFolder,
    inputNames: { inputIds: 'input_ids', attentionMask: 'attention_mask', labels: 'labels' },
    parameters,
    lossName: 'loss',
    logitsName: options.outputLogits ? 'logits' : undefined,
    dropout: ending.dropout && ending.dropout.masks.length > 0 ? ending.dropout : undefined,
  };
}
