import type { Graph } from '../onnx/graph.js';
import { serializeModelAuto } from '../onnx/serialize-model.js';
import type { InferenceGraph } from './model-architecture.js';

/**
 * Ends an inference graph whose outputs are declared: serializes it (external data above
 * `externalDataThreshold`) and returns the {@link InferenceGraph} with its input and output names
 * and the given key/value-cache dimensions.
 */
export function finishInferenceGraph(
  graph: Graph,
  externalDataThreshold: number | undefined,
  dimensions: Pick<InferenceGraph, 'layers' | 'heads' | 'headSize'>,
): InferenceGraph {
  const serialized = serializeModelAuto(graph, externalDataThreshold);
  return {
    model: serialized.model,
    externalData: serialized.externalData,
    externalFolder: serialized.externalFolder,
    inputNames: graph.inputs.map((input) => input.name),
    outputNames: graph.outputs.map((output) => output.name),
    layers: dimensions.layers,
    heads: dimensions.heads,
    headSize: dimensions.headSize,
  };
}
