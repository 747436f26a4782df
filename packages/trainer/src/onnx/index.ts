/**
 * `@tunekit/trainer/onnx`: The ONNX graph builder the model builders use: tensors, shapes and data
 * types, nodes, serialization to ModelProto with external data.
 *
 * Guides: [trainer-internals](../../../../docs/trainer-internals.md).
 *
 * @module @tunekit/trainer/onnx
 */
export { DATA_TYPE_SIZES, type DataType, isFloatingType, ONNX_DATA_TYPES } from './data-type.js';
export {
  type AttributeValue,
  type CustomGradient,
  type Dimension,
  FLOAT_ATTRIBUTES,
  Graph,
  GraphBase,
  type GraphNode,
  type GraphOptions,
  type Initializer,
  onnxTypeNumber,
  type Value,
} from './graph.js';
export {
  type HalfPrecision,
  halfPrecisionOperand,
  halfPrecisionProduct,
  registerHalfPrecisionView,
} from './half-precision-operand.js';
export {
  initializerBytes,
  liveNodes,
  type SerializedModel,
  type SerializeModelOptions,
  saveModel,
  saveSerializedModel,
  serializeModel,
  serializeModelAuto,
} from './serialize-model.js';
export { broadcastShapes } from './shape-inference.js';
export { type TensorData, tensorDataToNumbers, toTensorData } from './tensor-data.js';
