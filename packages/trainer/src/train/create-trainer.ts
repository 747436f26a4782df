import {
  type ArtifactStore,
  type EventBus,
  type Logger,
  type LoraConfigInput,
  parseOrThrow,
  type QuantizationOptions,
  type TrainingPrecision,
  TrainingPrecisionSchema,
  TunekitError,
  tunekitError,
} from '@tunekit/core';
import type { InferenceSession } from 'onnxruntime-node';
import { checkTrainingPrecision } from '../backends/check-training-precision.js';
import {
  createGraphSession,
  TRAINING_EXTERNAL_DATA_THRESHOLD,
  TRAINING_SESSION_OPTIONS,
} from '../backends/create-graph-session.js';
import { loadOnnxRuntime, type OnnxRuntime } from '../backends/onnxruntime-backend.js';
import type { Device, TrainerBackend } from '../backends/trainer-backend.js';
import { prepareClassificationSequences } from '../data/prepare-classification-sequences.js';
import { preparePreferencePairs } from '../data/prepare-preference-pairs.js';
import { prepareSequences } from '../data/prepare-sequences.js';
import type { ChatFormatter } from '../data/training-row.js';
import { TextGenerator } from '../generate/text-generator.js';
import type { LoraAdapters, TrainingGraph } from '../models/model-architecture.js';
import type { SerializedModel } from '../onnx/serialize-model.js';
import { createJinjaChatFormatter } from '../tokenizers/jinja-chat-template.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import {
  artifactCheckpointStore,
  type CheckpointStore,
  directoryCheckpointStore,
} from './checkpoint-store.js';
import { collectRows, isTextOnly } from './collect-rows.js';
import { modelPositions, resolveModel, resolveTokenizer } from './resolve-model.js';
import { resolveTrainerAdapters } from './resolve-trainer-adapters.js';
import type { Trainer, TrainerModel } from './trainer.js';
import { TrainingOptionsSchema } from './training-options.js';
import { evaluateSequences, runTraining } from './training-run.js';

/** Options of {@link createTrainer}. */
export interface CreateTrainerOptions {
  /** A model in memory, or a folder with `config.json` + `model.safetensors` (loaded with `loadModel`). */
  model: TrainerModel | string;
  /** A tokenizer, or a folder with `tokenizer.json`. Default: the model folder's, else the byte-level tokenizer. */
  tokenizer?: Tokenizer | string;
  /** LoRA settings (PEFT names); with them only the adapters train. Or adapters with weights to continue. */
  lora?: LoraConfigInput | LoraAdapters;
  /** `lora` (default when `lora` is given) or `full`. */
  trainable?: 'lora' | 'full';
  /**
   * QLoRA-style 4-bit frozen base (`{ bits: 4, blockSize: 64 }`; GPT-2, Llama, Qwen2; only with
   * `trainable: 'lora'`) for the training graphs and for generation's KV-cache graph (the adapters
   * stay a separate float32 branch there). `saveMerged` and `exportModel` still write float32
   * weights. See `BuildTrainingGraphOptions.quantization`.
   */
  quantization?: QuantizationOptions;
  /** Where sessions run. Default `cpu`. */
  device?: Device;
  /** Intra-op threads. */
  threads?: number;
  /** Dropout nodes in training mode (default false: exact resume needs it off). */
  dropout?: boolean;
  /**
   * Gradient checkpointing (default false): the training graph recomputes each transformer layer's
   * activations in the backward pass instead of keeping them (causal language models). Same
   * gradients, less peak memory, about one more forward pass per step. See
   * `BuildTrainingGraphOptions.gradientCheckpointing`.
   */
  gradientCheckpointing?: boolean;
  /**
   * Compute precision of the training graphs (default `float32`): `float16` runs the matrix
   * products in float16 with float32 master weights and dynamic loss scaling (`lossScaling` of
   * `train`), `bfloat16` likewise without loss scaling on devices with bfloat16 kernels (CUDA;
   * `PRECISION_UNSUPPORTED` on the CPU). Generation stays float32. See
   * `BuildTrainingGraphOptions.precision` and docs/training.md ("Mixed precision").
   */
  precision?: TrainingPrecision;
  /** Event bus for `training:*`, `checkpoint:*` and `warning:raised`. */
  events?: Pick<EventBus, 'emit'>;
  /** Job id carried on the events. */
  jobId?: string;
  logger?: Logger;
  /** Artifact store for `checkpoint.prefix`. */
  artifacts?: ArtifactStore;
  /** Extra backends by name (the kit's `trainerBackend` registrations). */
  backends?: Record<string, TrainerBackend>;
  /**
   * Chat template for `{ messages }` rows. Default: the tokenizer's Jinja `chat_template` (loss on
   * assistant turns only), else the built-in `simpleChatTemplate`.
   */
  chatTemplate?: ChatFormatter;
}

/**
 * Creates a trainer over a model folder or a model in memory: LoRA or full fine-tuning on CPU or
 * CUDA through onnxruntime, with the training session built once and reused across steps.
 */
export async function createTrainer(options: CreateTrainerOptions): Promise<Trainer> {
  const resolvedModel = await resolveModel(options.model);
  const tokenizer = await resolveTokenizer(options.tokenizer, resolvedModel);
  const ort: OnnxRuntime = await loadOnnxRuntime();
  const trainable = options.trainable ?? (options.lora ? 'lora' : 'full');
  // Checked against the model now, not when the first step builds its graph (PiSSA/OLoRA also
  // replace the base weights by their residual).
  const { model, adapters } = resolveTrainerAdapters(resolvedModel, options.lora);
  if (trainable === 'lora' && !adapters) {
    throw tunekitError(
      'VALIDATION_FAILED',
      'trainable "lora" needs lora options (r, alpha, targetModules …)',
    );
  }
  if (options.quantization && trainable !== 'lora') {
    throw tunekitError(
      'VALIDATION_FAILED',
      'quantization (a 4-bit frozen base) needs trainable "lora": quantized weights cannot be trained',
    );
  }
  const positions = modelPositions(model.config);
  const vocabSize = (model.config as Record<string, unknown>).vocab_size;
  if (typeof vocabSize === 'number' && tokenizer.vocabSize > vocabSize) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `The tokenizer has ${tokenizer.vocabSize} ids but the model's vocabulary only ${vocabSize}`,
    );
  }
  const padId = tokenizer.specialTokens.pad ?? tokenizer.specialTokens.eos ?? 0;
  // Sequence classifiers train on { text, label } rows (labels by name from config.label2id, or ids).
  const classification = model.architecture.task === 'sequence-classification';
  const prepareClassification = (items: unknown[], maxLength: number, what: string) => {
    const config = model.config as {
      label2id?: Record<string, number>;
      model_type?: string;
      pad_token_id?: number;
    };
    // RoBERTa's positions start after the padding id.
    const usable = config.model_type === 'roberta' ? positions - (config.pad_token_id ?? 1) - 1 : positions;
    const prepared = prepareClassificationSequences(items, {
      tokenizer,
      maxLength: Math.min(maxLength, usable),
      label2id: config.label2id ?? {},
    });
    if (prepared.truncated > 0) {
      options.events?.emit('warning:raised', {
        source: 'trainer',
        message: `${what}: ${prepared.truncated} example(s) truncated to ${maxLength} tokens`,
        details: { truncated: prepared.truncated, maxLength },
      });
    }
    return prepared.sequences;
  };
  // Chat rows: the caller's formatter, else the tokenizer's Jinja chat_template, else the built-in one.
  const chatTemplate =
    options.chatTemplate ??
    (tokenizer.chatTemplate ? createJinjaChatFormatter(tokenizer.chatTemplate).formatter : undefined);
  let device: string = options.device ?? 'cpu';
  const sessionOptions = {
    device: options.device ?? 'cpu',
    threads: options.threads,
    backends: options.backends,
    onWarning: (message: string, details: Record<string, unknown>) =>
      options.events?.emit('warning:raised', { source: 'trainer', message, details }),
  };
  // Graphs whose frozen weights exceed 64 MiB keep them in external data, which onnxruntime maps
  // from a file instead of copying them out of the model bytes (see `createGraphSession`). Training
  // sessions of any size get no memory pattern and no pre-packed copies (TRAINING_SESSION_OPTIONS).
  const openSession = async (
    serialized: Pick<SerializedModel, 'model' | 'externalData' | 'externalFolder'>,
    training = false,
  ): Promise<InferenceSession> => {
    const opened = await createGraphSession(
      serialized,
      training ? { ...sessionOptions, ...TRAINING_SESSION_OPTIONS } : sessionOptions,
    );
    device = opened.device;
    // Once `auto` has resolved, later sessions go straight to the same device.
    sessionOptions.device = opened.device as Device;
    return opened.session;
  };

  /** Training graphs and sessions by objective (`sft`, or `dpo:<beta>`), built on first use. */
  const trainingByObjective = new Map<
    string,
    { graph: TrainingGraph; session: InferenceSession; evaluation?: InferenceSession }
  >();
  let inference: TextGenerator | undefined;
  let inferenceSession: InferenceSession | undefined;

  /** Builds the training graph and its session once (trainable tensors are inputs, so they can change). */
  const trainingSessions = async (preference?: { beta: number }) => {
    const key = preference ? `dpo:${preference.beta}` : 'sft';
    const cached = trainingByObjective.get(key);
    if (cached) return cached;
    const precision = parseOrThrow(TrainingPrecisionSchema, options.precision ?? 'float32', 'precision');
    checkTrainingPrecision(precision, sessionOptions.device);
    const build = (dropout: boolean, gradients: boolean) =>
      model.architecture.buildTrainingGraph({
        config: model.config,
        weights: model.weights,
        lora: adapters,
        trainable,
        dropout,
        gradients,
        preference,
        quantization: options.quantization,
        gradientCheckpointing: gradients ? options.gradientCheckpointing : undefined,
        precision,
        externalDataThreshold: TRAINING_EXTERNAL_DATA_THRESHOLD,
      });
    const graph = build(options.dropout ?? false, true);
    const session = await openSession(graph, true);
    try {
      // `auto` is known only now: CUDA did not load and the session runs on the CPU.
      checkTrainingPrecision(precision, device);
    } catch (error) {
      await session.release();
      throw error;
    }
    if (precision === 'float16' && device === 'cpu') {
      options.events?.emit('warning:raised', {
        source: 'trainer',
        message:
          "precision 'float16' on the CPU: onnxruntime has no float16 MatMul/Gemm kernel on x86 CPUs and computes the products in float32 (no speed-up; frozen weights are only stored in float16). Mixed precision pays off on CUDA; see docs/performance.md.",
        details: { precision, device },
      });
    }
    const evaluation = options.dropout ? await openSession(build(false, false), true) : undefined;
    const training = { graph, session, evaluation };
    trainingByObjective.set(key, training);
    return training;
  };

  /** Writes trained values back into the weights or the adapters (the inference graph embeds them). */
  const commit = (graph: TrainingGraph, values: Float32Array[]) => {
    graph.parameters.forEach((parameter, index) => {
      const data = values[index] as Float32Array;
      const shape = [...parameter.shape];
      if (trainable === 'full') {
        model.weights.set(parameter.name, { shape, data: data.slice() });
      } else if (adapters) {
        adapters.weights ??= new Map();
        adapters.weights.set(parameter.name, { shape, data: data.slice() });
      }
      parameter.initial.set(data);
      // Graphs of other objectives start from the same values next time.
      for (const other of trainingByObjective.values()) {
        if (other.graph === graph) continue;
        other.graph.parameters.find((candidate) => candidate.name === parameter.name)?.initial.set(data);
      }
    });
    if (inferenceSession) void inferenceSession.release();
    inference = undefined;
    inferenceSession = undefined;
  };

  const generator = async (): Promise<TextGenerator> => {
    if (inference) return inference;
    if (classification) {
      throw tunekitError(
        'MODEL_TASK_MISMATCH',
        `A ${String((model.config as Record<string, unknown>).model_type)} sequence classifier does not generate text: use createClassifier(...).predict`,
      );
    }
    const graph = model.architecture.buildInferenceGraph({
      config: model.config,
      weights: model.weights,
      lora: adapters,
      kvCache: true,
      // The same 4-bit base as the training graphs; the adapters stay a live float32 branch.
      quantization: options.quantization,
      externalDataThreshold: TRAINING_EXTERNAL_DATA_THRESHOLD,
    });
    inferenceSession = await openSession(graph);
    inference = new TextGenerator({
      ort,
      session: inferenceSession,
      graph,
      tokenizer,
      maxPositions: positions,
    });
    return inference;
  };

  const checkpointStore = (checkpoint: { directory?: string; prefix?: string } | undefined) => {
    if (!checkpoint) return undefined;
    if (checkpoint.directory) return directoryCheckpointStore(checkpoint.directory);
    if (checkpoint.prefix) {
      if (!options.artifacts) {
        throw tunekitError(
          'VALIDATION_FAILED',
          'checkpoint.prefix needs an artifact store (createTrainer({ artifacts }))',
        );
      }
      return artifactCheckpointStore(options.artifacts, checkpoint.prefix);
    }
    return undefined;
  };

  const trainer: Trainer = {
    get device() {
      return device;
    },
    tokenizer,
    model,
    get adapters() {
      return adapters;
    },
    async train(dataset, input = {}) {
      const { validation, signal, onProgress, ...rest } = input;
      const parsed = TrainingOptionsSchema.safeParse(rest);
      if (!parsed.success) {
        throw tunekitError(
          'VALIDATION_FAILED',
          `Invalid training options: ${parsed.error.issues
            .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
            .join('; ')}`,
          { issues: parsed.error.issues },
        );
      }
      const trainingOptions = parsed.data;
      const maxLength = trainingOptions.maxLength ?? Math.min(positions, 1024);
      if (maxLength > positions) {
        throw tunekitError(
          'VALIDATION_FAILED',
          `maxLength ${maxLength} exceeds the model's ${positions} positions`,
        );
      }
      const rows = await collectRows(dataset);
      const packing = trainingOptions.packing ?? isTextOnly(rows);
      /** Warns (event `warning:raised`) about over-long examples that were cut or left out. */
      const warnOverflow = (
        what: string,
        prepared: { truncated: number; rejected: number[] },
        unit: string,
      ) => {
        if (prepared.truncated === 0 && prepared.rejected.length === 0) return;
        options.events?.emit('warning:raised', {
          source: 'trainer',
          message: `${what}: ${prepared.truncated} ${unit}(s) truncated to ${maxLength} tokens, ${prepared.rejected.length} left out`,
          details: { truncated: prepared.truncated, rejected: prepared.rejected.slice(0, 100), maxLength },
        });
      };
      const prepare = (items: unknown[], what: string) => {
        if (classification) return prepareClassification(items, maxLength, what);
        const prepared = prepareSequences(items, {
          tokenizer,
          maxLength,
          packing,
          overflow: trainingOptions.overflow,
          chatTemplate,
        });
        warnOverflow(what, prepared, 'example');
        return prepared.sequences;
      };
      const preference = trainingOptions.dpo;
      if (preference && classification) {
        throw tunekitError(
          'VALIDATION_FAILED',
          'dpo trains causal language models; this model is a sequence classifier',
        );
      }
      const preparePairs = (items: unknown[], what: string) => {
        const prepared = preparePreferencePairs(items, {
          tokenizer,
          maxLength,
          overflow: trainingOptions.overflow,
        });
        warnOverflow(what, prepared, 'pair');
        return prepared.pairs;
      };
      const prepareAny = preference ? preparePairs : prepare;
      const train = prepareAny(rows, 'training data');
      const validationSequences = validation
        ? prepareAny(await collectRows(validation), 'validation data')
        : [];
      const sessions = await trainingSessions(preference);
      const parameters = sessions.graph.parameters.map((parameter) => parameter.initial.slice());
      let store: CheckpointStore | undefined;
      try {
        store = checkpointStore(trainingOptions.checkpoint);
        const result = await runTraining({
          ort,
          graph: sessions.graph,
          session: sessions.session,
          evaluationSession: sessions.evaluation,
          parameters,
          train,
          validation: validationSequences,
          padId,
          options: trainingOptions,
          checkpoints: store,
          events: options.events,
          jobId: options.jobId,
          signal,
          onProgress,
        });
        commit(sessions.graph, parameters);
        return result;
      } catch (error) {
        // Keep what was learned up to a cancellation, so generation and saving see it.
        if (TunekitError.isInstance(error) && error.code === 'TRAINING_CANCELLED') {
          commit(sessions.graph, parameters);
        }
        throw error;
      }
    },
    async evaluate(rows, evaluateOptions = {}) {
      const sessions = await trainingSessions();
      const items = await collectRows(rows);
      const sequences = classification
        ? prepareClassification(
            items,
            evaluateOptions.maxLength ?? Math.min(positions, 1024),
            'evaluation data',
          )
        : prepareSequences(items, {
            tokenizer,
            maxLength: evaluateOptions.maxLength ?? Math.min(positions, 1024),
            packing: isTextOnly(items),
            chatTemplate,
          }).sequences;
      return evaluateSequences(
        {
          ort,
          graph: sessions.graph,
          session: sessions.session,
          evaluationSession: sessions.evaluation,
          parameters: sessions.graph.parameters.map((parameter) => parameter.initial),
          train: [],
          validation: sequences,
          padId,
          options: TrainingOptionsSchema.parse({}),
        },
        sequences,
        evaluateOptions.batchSize ?? 8,
      );
    },
    async generate(prompt, generationOptions) {
      return (await generator()).generate(prompt, generationOptions);
    },
    async *stream(prompt, generationOptions) {
      yield* (await generator()).stream(prompt, generationOptions);
    },
    async saveAdapter(directory, saveOptions) {
      if (!adapters) {
        throw tunekitError(
          'ADAPTER_INVALID',
          'This trainer trains the full model, not adapters: use saveMerged',
        );
      }
      const { saveTrained } = await import('../adapters/save-trained.js');
      return saveTrained(trainer, directory, saveOptions);
    },
    async saveMerged(directory, saveOptions) {
      const { mergeAndSave } = await import('../adapters/save-trained.js');
      return mergeAndSave(trainer, directory, saveOptions);
    },
    async close() {
      for (const training of trainingByObjective.values()) {
        await training.session.release();
        await training.evaluation?.release();
      }
      await inferenceSession?.release();
      trainingByObjective.clear();
      inference = undefined;
      inferenceSession = undefined;
    },
  };
  return trainer;
}
