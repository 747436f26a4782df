/**
 * `@tunekit/trainer`: The trainer plugin, model builders (GPT-2, Llama/Qwen2, BERT family), LoRA and
 * PEFT adapters, the training loop, generation, classification and `openModel`, on onnxruntime-node.
 *
 * Guides: [training](../../../docs/training.md), [hugging-face-compatibility](../../../docs/hugging-face-compatibility.md), [performance](../../../docs/performance.md).
 *
 * @module @tunekit/trainer
 */

export { convertBaseWeightAdapter } from './adapters/convert-base-weight-adapter.js';
export {
  type LoadPeftAdapterOptions,
  loadPeftAdapter,
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  peftAdapterConfig,
  type SavePeftAdapterOptions,
  savePeftAdapter,
  validatePeftWeights,
} from './adapters/peft-adapter.js';
export { type SaveModelOptions, SaveModelOptionsSchema } from './adapters/save-model-options.js';
export { mergeAndSave, saveModelFolder, saveTrained } from './adapters/save-trained.js';
export { checkTrainingPrecision } from './backends/check-training-precision.js';
export {
  createDeviceSession,
  type DeviceSession,
  type DeviceSessionOptions,
} from './backends/create-device-session.js';
export {
  createGraphSession,
  TRAINING_EXTERNAL_DATA_THRESHOLD,
  TRAINING_SESSION_EXTRA,
  TRAINING_SESSION_OPTIONS,
} from './backends/create-graph-session.js';
export {
  cpuBackend,
  createOnnxRuntimeBackend,
  cudaBackend,
  loadOnnxRuntime,
  type OnnxRuntime,
} from './backends/onnxruntime-backend.js';
export type { BackendSessionOptions, Device, TrainerBackend } from './backends/trainer-backend.js';
export { BatchSampler, type DataPosition } from './data/batch-sampler.js';
export { type Batch, collateBatch } from './data/collate-batch.js';
export { parseRow } from './data/parse-row.js';
export {
  type ClassificationRow,
  ClassificationRowSchema,
  encodeForClassification,
  type PrepareClassificationOptions,
  type PreparedClassification,
  prepareClassificationSequences,
} from './data/prepare-classification-sequences.js';
export {
  type PreferenceRow,
  PreferenceRowSchema,
  type PreparedPreferencePairs,
  type PreparePreferencePairsOptions,
  preparePreferencePairs,
} from './data/prepare-preference-pairs.js';
export {
  IGNORE_INDEX,
  type PreparedSequences,
  type PrepareSequencesOptions,
  prepareSequences,
  rowSegments,
  type TokenSequence,
  tokenizeRow,
} from './data/prepare-sequences.js';
export {
  type ChatFormatter,
  type ChatMessage,
  ChatMessageSchema,
  ChatRowSchema,
  PromptCompletionRowSchema,
  simpleChatPrompt,
  simpleChatTemplate,
  TextRowSchema,
  type TextSegment,
  type TrainingRow,
  TrainingRowSchema,
} from './data/training-row.js';
export {
  type ExportedModel,
  type ExportModelOptions,
  ExportModelOptionsSchema,
  exportModel,
} from './export/export-model.js';
export {
  type GenerationChunk,
  type GenerationOptions,
  type GenerationOptionsInput,
  GenerationOptionsSchema,
  type GenerationResult,
} from './generate/generation-options.js';
export { sampleToken } from './generate/sample-token.js';
export { TextGenerator, type TextGeneratorContext } from './generate/text-generator.js';
export {
  type ModelPredictorOptions,
  modelPredictor,
  type OpenedModel,
  type OpenModelOptions,
  OpenModelOptionsSchema,
  openModel,
  type PerplexityResult,
  type ResolvedModelSource,
  resolveModelSource,
} from './inference/index.js';
export {
  adapterKeyReport,
  applyModulesToSave,
  type BaseWeightAdapters,
  type BaseWeightInitialization,
  type CheckAdapterKeysOptions,
  checkAdapterKeys,
  DEFAULT_LORA_TARGET_MODULES,
  initializeFromBaseWeights,
  initializeLoraWeights,
  isBaseWeightInitialization,
  isLoraTarget,
  type LoraInitialization,
  type LoraMatrix,
  type LoraTargetModule,
  type LoraTensorName,
  loraScaling,
  loraTensorNames,
  mergeLora,
  PEFT_PREFIX,
  parseLoraTensorName,
  peftTensorName,
  type ResolvedLoraConfig,
  reducedQr,
  resolveLoraConfig,
} from './lora/index.js';
export {
  type ActivationName,
  type ApplyDropout,
  applyRotaryEmbedding,
  type BertConfig,
  BertConfigSchema,
  type BertFamilyConfig,
  type BertForwardOptions,
  type BertForwardOutputs,
  BUILT_IN_ARCHITECTURES,
  type BuildInferenceGraphOptions,
  type BuildTrainingGraphOptions,
  bertArchitecture,
  buildActivation,
  buildBertForward,
  buildCausalLanguageModelLoss,
  buildGpt2Forward,
  buildLlamaForward,
  buildRmsNorm,
  buildRotaryTables,
  buildSiluGate,
  type CausalForwardInputs,
  type CausalForwardResult,
  type CausalLanguageModelLoss,
  type CausalLanguageModelLossOptions,
  type CheckpointDtype,
  type CheckpointLayout,
  type CheckpointTensor,
  type CheckpointTensorRole,
  type CreateModelOptions,
  CreateModelSettingsSchema,
  checkpointDtypes,
  createDropout,
  createEncoderWeights,
  createGpt2Weights,
  createLlamaWeights,
  createModel,
  type DistilBertConfig,
  DistilBertConfigSchema,
  type DropoutMaskCollector,
  type DropoutMaskInput,
  distilBertArchitecture,
  dropoutMaskSize,
  type EncoderLayerNames,
  type EncoderNames,
  type EncoderSettings,
  encoderCheckpointTensorRole,
  encoderHeadWeightNames,
  encoderLinearModules,
  encoderNames,
  encoderSettings,
  encoderUsablePositions,
  encoderWeightShapes,
  findWeightFiles,
  type Gpt2Config,
  Gpt2ConfigSchema,
  type Gpt2ForwardOptions,
  type Gpt2ForwardResult,
  getArchitecture,
  gpt2Architecture,
  gpt2CheckpointTensorRole,
  gpt2InnerSize,
  gpt2LinearModules,
  gpt2WeightShapes,
  type InferenceGraph,
  initializeEncoderHead,
  type LlamaConfig,
  LlamaConfigSchema,
  type LlamaDimensions,
  type LlamaForwardOptions,
  type LlamaForwardResult,
  type LoadedModel,
  type LoadModelOptions,
  LoadModelOptionsSchema,
  type LoadReport,
  type LoraAdapters,
  type LoraModuleValues,
  llamaArchitecture,
  llamaCheckpointTensorRole,
  llamaDimensions,
  llamaLinearModules,
  llamaWeightShapes,
  loadModel,
  type ModelArchitecture,
  normalizeEncoderWeights,
  normalizeGpt2Weights,
  normalizeLlamaWeights,
  Qwen2ConfigSchema,
  qwen2Architecture,
  type RobertaConfig,
  RobertaConfigSchema,
  type RopeScaling,
  RopeScalingSchema,
  robertaArchitecture,
  rotaryInverseFrequencies,
  type TrainableParameter,
  type TrainingGraph,
  toCheckpointLayout,
  trainableHeadTensors,
} from './models/index.js';
export {
  AdamW,
  type AdamWOptions,
  type AdamWOptionsInput,
  AdamWOptionsSchema,
  type AdamWState,
} from './optim/adamw.js';
export { clipGradientNorm, globalGradientNorm } from './optim/clip-gradient-norm.js';
export {
  type LearningRateSchedule,
  type LearningRateScheduleInput,
  LearningRateScheduleSchema,
  learningRateFactor,
} from './optim/learning-rate-schedule.js';
export { type TrainerPluginOptions, trainerPlugin } from './plugin/trainer-plugin.js';
export { trainingOptionsFromJob } from './plugin/training-options-from-job.js';
export {
  type ClassificationPrediction,
  type Classifier,
  type CreateClassifierOptions,
  createClassifier,
  type PredictOptions,
  PredictOptionsSchema,
} from './predict/create-classifier.js';
export {
  buildQuantizedLinear,
  declareInt4BlockMatrix,
  declareQuantizedLinears,
  dequantizeInt4Blocks,
  dequantizeInt4BlockValues,
  type Int4BlockMatrix,
  type Int4BlockValues,
  int4BlockMatrixBytes,
  type LinearWeightLayout,
  MICROSOFT_DOMAIN,
  matMulNBits,
  type QuantizedLinearValues,
  type QuantizedLinearWeight,
  type QuantizedLinearWeights,
  quantizeInt4Blocks,
  quantizeLinearWeights,
  roundHalfToEven,
  transposeMatrix,
} from './quantization/index.js';
export {
  bfloat16ToFloat32,
  DEFAULT_MAX_SHARD_SIZE,
  type FloatTensor,
  float16ToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16,
  float32ToFloat16,
  parseShardSize,
  planSafetensorsShards,
  readSafetensors,
  SAFETENSORS_INDEX_FILE,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsHeader,
  SafetensorsReader,
  type SafetensorsShard,
  type SafetensorsShardPlan,
  safetensorsDtypeBytes,
  shapeSize,
  type TensorMap,
  type WriteSafetensorsOptions,
  type WriteSafetensorsShardsOptions,
  type WrittenSafetensorsShards,
  writeSafetensors,
  writeSafetensorsShards,
} from './safetensors/index.js';
export {
  type ByteLevelTokenizerOptions,
  bytesToUnicode,
  createByteLevelTokenizer,
} from './tokenizers/byte-level-tokenizer.js';
export {
  createJinjaChatFormatter,
  type JinjaChatTemplate,
  type JinjaChatTemplateOptions,
} from './tokenizers/jinja-chat-template.js';
export { loadTokenizer } from './tokenizers/load-tokenizer.js';
export type { DecodeOptions, EncodeOptions, SpecialTokenIds, Tokenizer } from './tokenizers/tokenizer.js';
export {
  type WordPieceTokenizerOptions,
  writeWordPieceTokenizer,
} from './tokenizers/write-word-piece-tokenizer.js';
export {
  CHECKPOINT_MANIFEST,
  CHECKPOINT_TENSORS,
  type CheckpointContents,
  checkpointName,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
  type TrainerCheckpointState,
} from './train/checkpoint-manager.js';
export {
  artifactCheckpointStore,
  type CheckpointStore,
  directoryCheckpointStore,
} from './train/checkpoint-store.js';
export { collectRows } from './train/collect-rows.js';
export { type CreateTrainerOptions, createTrainer } from './train/create-trainer.js';
export { DropoutMaskFeeds, type DropoutMaskKey, fillDropoutMask } from './train/dropout-mask-feeds.js';
export {
  DynamicLossScaler,
  type DynamicLossScalerState,
  DynamicLossScalerStateSchema,
  type LossScalingOptions,
  type LossScalingOptionsInput,
  LossScalingOptionsSchema,
} from './train/dynamic-loss-scaler.js';
export {
  ACTIVATION_BYTES_PER_UNIT,
  BYTES_PER_TRAINABLE_PARAMETER,
  DEFAULT_LORA_MODULES_PER_LAYER,
  estimateTrainingMemory,
  type ModelMemoryShape,
  readModelMemoryShape,
  type TrainingMemoryEstimate,
  type TrainingMemoryInput,
  TrainingMemoryInputSchema,
} from './train/estimate-training-memory.js';
export { MEMORY_WATCH_INTERVAL_MS } from './train/memory-watchdog.js';
export { modelPositions, resolveModel, resolveTokenizer } from './train/resolve-model.js';
export {
  MINIMUM_WORKER_HEAP_MB,
  type TrainInWorkerControls,
  trainInWorker,
} from './train/train-in-worker.js';
export type { DatasetRows, Trainer, TrainerModel, TrainingControls } from './train/trainer.js';
export { isOutOfMemoryError, trainingStepError } from './train/training-errors.js';
export {
  type CheckpointOptions,
  CheckpointOptionsSchema,
  type TrainingOptions,
  type TrainingOptionsInput,
  TrainingOptionsSchema,
} from './train/training-options.js';
export {
  computeReferenceLogProbabilities,
  type EvaluationResult,
  evaluateSequences,
  runTraining,
  type TrainingResult,
  type TrainingRunContext,
} from './train/training-run.js';
export type {
  MainToWorkerMessage,
  WorkerError,
  WorkerToMainMessage,
  WorkerTrainingRequest,
} from './train/worker-protocol.js';
