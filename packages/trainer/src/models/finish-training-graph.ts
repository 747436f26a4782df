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
 * above `externalDataThreshold`) and returns the {@link TrainingGraph}. A `float16` graph with
 * gradients gets the `loss_scale` input (see `BuildTrainingGraphOptions.precision`).
 */
export function finishTrainingGraph(
  graph: Graph,
  options: BuildTrainingGraphOptions<unknown>,
  ending: FinishTrainingGraphOptions,
): TrainingGraph {
  const { parameters } = ending;
  const precision = options.precision ?? 'float32';
  graph.output(ending.loss, 'loss');
  const scaled = options.gradients !== false && precision === 'float16';
  if (options.gradients !== false) {
    const wrt = parameters.map((parameter) => graph.value(parameter.inputName));
    // Loss scaling: reverse mode starts from loss_scale · d(loss); the float32 gradients are unscaled.
    const lossScale = scaled ? graph.input('loss_scale', 'float32', []) : undefined;
    const seeds = lossScale
      ? (ending.seeds ?? [{ value: ending.loss, gradient: graph.scalar(1, ending.loss.dtype) }]).map(
          (seed) => ({ value: seed.value, gradient: scaleBy(graph, seed.gradient, lossScale) }),
        )
      : ending.seeds;
    const gradients = addGradients(
      graph,
      seeds
        ? { seeds, wrt, recompute: options.gradientCheckpointing }
        : { loss: ending.loss, wrt, recompute: options.gradientCheckpointing },
    );
    for (const parameter of parameters) {
      const gradient = gradients.get(parameter.inputName) as Value;
      graph.output(lossScale ? graph.div(gradient, lossScale) : gradient, parameter.gradientName);
    }
  }
  if (options.outputLogits) graph.output(ending.logits(), 'logits');
  // Lazily loaded weights stay in their files at any size: embedded, onnxruntime copies them and
  // the session would get the pre-packing and memory pattern of small graphs (see createGraphSession).
  const serialized = serializeModelAuto(graph, options.externalDataThreshold, {
    referenceFilesAtAnySize: true,
  });
  return {
    model: serialized.model,
    externalData: serialized.externalData,
    externalFolder: serialized.externalFolder,
    inputNames: { inputIds: 'input_ids', attentionMask: 'attention_mask', labels: 'labels' },
    parameters,
    lossName: 'loss',
    logitsName: options.outputLogits ? 'logits' : undefined,
    dropout: ending.dropout && ending.dropout.masks.length > 0 ? ending.dropout : undefined,
    precision,
    lossScale: scaled ? { input: 'loss_scale' } : undefined,
  };
}

/** `gradient · scale` in the gradient's type (the scale is a float32 scalar). */
function scaleBy(graph: Graph, gradient: Value, scale: Value): Value {
  return graph.mul(gradient, gradient.dtype === scale.dtype ? scale : graph.cast(scale, gradient.dtype));
}
