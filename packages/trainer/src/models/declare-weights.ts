import type { Graph, Value } from '../onnx/graph.js';
import { registerHalfPrecisionView } from '../onnx/half-precision-operand.js';
import { toTensorData } from '../onnx/tensor-data.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import type { TrainableParameter } from './model-architecture.js';

/**
 * Declares weights in a graph as float32 initializers (frozen) or as inputs (trainable, each also
 * appended to `parameters` with its gradient output name `grad.<name>` and a copy of its values), in
 * the map's order, and returns the graph value of every weight by name. Under mixed precision
 * (`graph.matrixPrecision`), frozen matrices (rank ≥ 2: linear weights, embeddings) are stored in
 * half precision, which halves their bytes; the returned value is their float32 view, which matrix
 * products and `Gather` look through (see `registerHalfPrecisionView`). Vectors (norm weights,
 * biases) and trainable tensors stay float32.
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
    } else if (graph.matrixPrecision && tensor.shape.length >= 2) {
      const half = graph.initializer(
        name,
        graph.matrixPrecision,
        tensor.shape,
        toTensorData(tensor.data, graph.matrixPrecision),
      );
      const view = graph.cast(half, 'float32');
      registerHalfPrecisionView(graph, view, half);
      values.set(name, view);
    } else {
      // The tensor itself, not its data: a lazily loaded weight stays in its file (see Graph.initializer).
      values.set(name, graph.initializer(name, 'float32', tensor.shape, tensor));
    }
  }
  return values;
}
