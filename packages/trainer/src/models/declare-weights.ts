import type { Graph, Value } from '../onnx/graph.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import type { TrainableParameter } from './model-architecture.js';

/**
 * Declares weights in a graph as float32 initializers (frozen) or as inputs (trainable, each also
 * appended to `parameters` with its gradient output name `grad.<name>` and a copy of its values), in
 * the map's order, and returns the graph value of every weight by name.
 */
export function declareWeights(
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
      // The tensor itself, not its data: a lazily loaded weight stays in its file (see Graph.initializer).
      values.set(name, graph.initializer(name, 'float32', tensor.shape, tensor));
    }
  }
  return values;
}
