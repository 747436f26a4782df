import { type EventBus, tunekitError } from '@tunekit/core';
import { SeededRandom } from '@tunekit/core/statistics';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { OnnxRuntime } from '../backends/onnxruntime-backend.js';
import { BatchSampler, type DataPosition } from '../data/batch-sampler.js';
import { collateBatch } from '../data/collate-batch.js';
import type { TokenSequence } from '../data/prepare-sequences.js';
import { parseLoraTensorName } from '../lora/peft-names.js';
import type { TrainingGraph } from '../models/model-architecture.js';
import { AdamW } from '../optim/adamw.js';
import { clipGradientNorm, globalGradientNorm } from '../optim/clip-gradient-norm.js';
import { learningRateFactor } from '../optim/learning-rate-schedule.js';
import { checkpointName, listCheckpoints, loadCheckpoint, saveCheckpoint } from './checkpoint-manager.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { DropoutMaskFeeds } from './dropout-mask-feeds.js';
import { DynamicLossScaler } from './dynamic-loss-scaler.js';
import { runBatch } from './run-batch.js';
import { trainingStepError } from './training-errors.js';
import type { TrainingOptions } from './training-options.js';

/** Loss and perplexity on a validation set. */
export interface EvaluationResult {
  loss: number;
  /** `exp(loss)` for cross-entropy; NaN for DPO, whose loss is not a log-likelihood. */
  perplexity: number;
  /** Labelled tokens evaluated (DPO: both sequences of every pair). */
  tokens: number;
  /**
   * DPO only: the share of pairs whose implicit reward `β·(π − ref)` is higher for the chosen
   * completion, and the mean reward margin (chosen − rejected), as TRL reports them.
   */
  rewardAccuracy?: number;
  rewardMargin?: number;
}

/** The outcome of a training run. */
export interface TrainingResult {
  status: 'succeeded' | 'stopped-early';
  /** Optimizer steps done (including those before a resume). */
  steps: number;
  /** Training loss of every step (before a resume too). */
  lossHistory: number[];
  /** Validation results by step. */
  evaluations: Array<{ step: number } & EvaluationResult>;
  bestValidationLoss?: number;
  /** Location of the last checkpoint, and of the best one by validation loss. */
  lastCheckpoint?: string;
  bestCheckpoint?: string;
  /** Steps skipped for a non-finite loss or gradient (`onNonFinite: 'skip'`). */
  skippedSteps: number[];
  /**
   * float16 graphs: steps the loss scaler skipped because a gradient overflowed (inf or NaN) at the
   * scale of that step, which then halved (see `DynamicLossScaler`); empty otherwise.
   */
  overflowSteps: number[];
  /** float16 graphs: the loss scale at the end of the run. */
  lossScale?: number;
  /** Training tokens per second (forward + backward + optimizer) over this run. */
  tokensPerSecond: number;
  /** Seconds this run took. */
  durationSeconds: number;
}

/** Everything one run needs; assembled by `createTrainer`. */
export interface TrainingRunContext {
  ort: OnnxRuntime;
  graph: TrainingGraph;
  /** The session of `graph`, created once. */
  session: InferenceSession;
  /** A session without dropout for evaluation (defaults to `session`, fed masks of ones). */
  evaluationSession?: InferenceSession;
  /** Live trainable tensors (updated in place), in `graph.parameters` order. */
  parameters: Float32Array[];
  train: TokenSequence[];
  validation: TokenSequence[];
  padId: number;
  options: TrainingOptions;
  checkpoints?: CheckpointStore;
  events?: Pick<EventBus, 'emit'>;
  jobId?: string;
  signal?: AbortSignal;
  onProgress?: (progress: number, metrics: Record<string, number>) => void;
}

/**
 * DPO's reference values: every pair's summed completion log probabilities (chosen, rejected)
 * under the reference model, which is the graph with its parameters at their starting values and
 * every LoRA `lora_B` at zero (the base model, as PEFT's disabled adapter; for full fine-tuning the
 * model the trainer started from). Returns `[chosen₀, rejected₀, chosen₁, …]`.
 */
export async function computeReferenceLogProbabilities(
  context: TrainingRunContext,
  pairs: readonly TokenSequence[],
  batchSize: number,
): Promise<Float32Array> {
  const { graph } = context;
  const preference = graph.preference;
  if (!preference) {
    throw tunekitError(
      'VALIDATION_FAILED',
      'Reference log probabilities need a DPO graph (built with preference)',
    );
  }
  const referenceParameters = graph.parameters.map((parameter) =>
    parseLoraTensorName(parameter.name)?.matrix === 'B'
      ? new Float32Array(parameter.initial.length)
      : parameter.initial,
  );
  const session = context.evaluationSession ?? context.session;
  const dropout = context.graph.dropout
    ? { feeds: new DropoutMaskFeeds(context.ort, context.graph.dropout), key: undefined }
    : undefined;
  const values = new Float32Array(pairs.length * 2);
  for (let start = 0; start < pairs.length; start += batchSize) {
    const slice = pairs.slice(start, start + batchSize);
    const batch = collateBatch(slice, context.padId);
    const output = await runBatch(context, session, batch, false, dropout, {
      parameters: referenceParameters,
      fetchSequences: true,
    });
    const sequences = (output[preference.sequenceOutput] as Tensor).data as Float32Array;
    slice.forEach((_, offset) => {
      values[2 * (start + offset)] = sequences[offset] as number;
      values[2 * (start + offset) + 1] = sequences[slice.length + offset] as number;
    });
  }
  return values;
}

/** The reference values of a batch of pairs, in the graph's row order (chosen rows, then rejected). */
function batchReference(references: Float32Array, indices: readonly number[]): Float32Array {
  const values = new Float32Array(indices.length * 2);
  indices.forEach((pair, offset) => {
    values[offset] = references[2 * pair] as number;
    values[indices.length + offset] = references[2 * pair + 1] as number;
  });
  return values;
}

/** Mean loss over the validation sequences, weighted by labelled tokens. */
export async function evaluateSequences(
  context: TrainingRunContext,
  sequences: TokenSequence[],
  batchSize: number,
  maxBatches?: number,
  /** DPO: reference values of `sequences` (see {@link computeReferenceLogProbabilities}); computed when absent. */
  references?: Float32Array,
): Promise<EvaluationResult> {
  const session = context.evaluationSession ?? context.session;
  const dropout = context.graph.dropout
    ? { feeds: new DropoutMaskFeeds(context.ort, context.graph.dropout), key: undefined }
    : undefined;
  let weighted = 0;
  let tokens = 0;
  const batches = Math.min(Math.ceil(sequences.length / batchSize), maxBatches ?? Number.POSITIVE_INFINITY);
  const preference = context.graph.preference;
  const evaluated = sequences.slice(0, batches * batchSize);
  const referenceValues = preference
    ? (references ?? (await computeReferenceLogProbabilities(context, evaluated, batchSize)))
    : undefined;
  let pairs = 0;
  let wins = 0;
  let margins = 0;
  for (let index = 0; index < batches; index++) {
    const start = index * batchSize;
    const indices = Array.from(
      { length: Math.min(batchSize, evaluated.length - start) },
      (_, at) => start + at,
    );
    const batch = collateBatch(
      indices.map((at) => evaluated[at] as TokenSequence),
      context.padId,
    );
    if (batch.trainedTokens === 0) continue;
    const reference = referenceValues ? batchReference(referenceValues, indices) : undefined;
    const output = await runBatch(context, session, batch, false, dropout, {
      reference,
      fetchSequences: preference !== undefined,
    });
    const loss = Number(((output[context.graph.lossName] as Tensor).data as Float32Array)[0]);
    if (preference && reference) {
      // DPO: the loss is a mean over pairs; rewards β·(π − ref) per row.
      const policy = (output[preference.sequenceOutput] as Tensor).data as Float32Array;
      const count = indices.length;
      for (let pair = 0; pair < count; pair++) {
        const chosen = preference.beta * ((policy[pair] as number) - (reference[pair] as number));
        const rejected =
          preference.beta * ((policy[count + pair] as number) - (reference[count + pair] as number));
        if (chosen > rejected) wins += 1;
        margins += chosen - rejected;
      }
      weighted += loss * count;
      pairs += count;
      tokens += batch.trainedTokens;
      continue;
    }
    weighted += loss * batch.trainedTokens;
    tokens += batch.trainedTokens;
  }
  if (preference) {
    const loss = pairs === 0 ? Number.NaN : weighted / pairs;
    return {
      loss,
      perplexity: Number.NaN,
      tokens,
      rewardAccuracy: pairs === 0 ? Number.NaN : wins / pairs,
      rewardMargin: pairs === 0 ? Number.NaN : margins / pairs,
    };
  }
  const loss = tokens === 0 ? Number.NaN : weighted / tokens;
  return { loss, perplexity: Math.exp(loss), tokens };
}

/**
 * The training loop: micro-batches with gradient accumulation, global clipping, AdamW with a
 * schedule, evaluation, early stopping, checkpoints (keep best and last), exact resume,
 * cancellation at the next step, non-finite detection and events.
 */
export async function runTraining(context: TrainingRunContext): Promise<TrainingResult> {
  const { options, graph, parameters, events, jobId } = context;
  const started = performance.now();
  const sampler = new BatchSampler(context.train.length, options.batchSize, options.seed, options.shuffle);
  if (context.train.length === 0) {
    throw tunekitError('VALIDATION_FAILED', 'The training dataset has no usable sequences');
  }
  const microBatchesPerEpoch = sampler.batchesPerEpoch;
  const totalSteps =
    options.maxSteps ??
    Math.max(1, Math.ceil((options.epochs * microBatchesPerEpoch) / options.gradientAccumulationSteps));
  const optimizer = new AdamW(parameters, { learningRate: options.learningRate, ...options.adamW });
  const random = new SeededRandom(options.seed);
  const dropoutMasks = graph.dropout ? new DropoutMaskFeeds(context.ort, graph.dropout) : undefined;
  const scaler = graph.lossScale ? new DynamicLossScaler(options.lossScaling) : undefined;

  let step = 0;
  let position: DataPosition = { epoch: 0, batch: 0 };
  let lossHistory: number[] = [];
  let bestValidationLoss: number | undefined;
  let evaluationsWithoutImprovement = 0;
  let bestCheckpoint: { name: string; loss: number } | undefined;
  let lastCheckpoint: string | undefined;
  const evaluations: TrainingResult['evaluations'] = [];
  const skippedSteps: number[] = [];
  const overflowSteps: number[] = [];

  const store = context.checkpoints;
  if (options.resume !== false) {
    if (!store) {
      throw tunekitError(
        'VALIDATION_FAILED',
        'resume needs checkpoint options (a directory or an artifact prefix)',
      );
    }
    const available = await listCheckpoints(store);
    const name = typeof options.resume === 'string' ? options.resume : available.at(-1)?.name;
    if (name) {
      const restored = await loadCheckpoint(store, name);
      graph.parameters.forEach((parameter, index) => {
        const saved = restored.parameters.get(parameter.name);
        if (!saved || saved.length !== parameters[index]?.length) {
          throw tunekitError(
            'CHECKPOINT_INVALID',
            `Checkpoint ${name} does not match the model: parameter ${parameter.name} is missing or resized`,
            { checkpoint: name, parameter: parameter.name },
          );
        }
        (parameters[index] as Float32Array).set(saved);
      });
      optimizer.loadState(restored.optimizer);
      if (scaler && restored.state.lossScaler) scaler.loadState(restored.state.lossScaler);
      step = restored.state.step;
      position = restored.state.dataPosition;
      random.state = restored.state.randomState;
      lossHistory = [...restored.state.lossHistory];
      bestValidationLoss = restored.state.bestValidationLoss;
      evaluationsWithoutImprovement = restored.state.evaluationsWithoutImprovement;
      lastCheckpoint = store.location(name);
      const best = available.find((candidate) => candidate.name !== name && bestValidationLoss !== undefined);
      if (bestValidationLoss !== undefined) {
        bestCheckpoint = { name: best?.name ?? name, loss: bestValidationLoss };
      }
    }
  }
  const firstStep = step;
  // DPO: the reference model's values, computed once (deterministic, so a resume recomputes them).
  const references = graph.preference
    ? await computeReferenceLogProbabilities(context, context.train, options.batchSize)
    : undefined;

  events?.emit('training:started', {
    jobId,
    runName: options.runName,
    params: {
      ...options,
      checkpoint: options.checkpoint ? { ...options.checkpoint } : undefined,
      totalSteps,
      trainSequences: context.train.length,
      validationSequences: context.validation.length,
      trainableParameters: parameters.reduce((sum, parameter) => sum + parameter.length, 0),
      resumedFromStep: firstStep,
    },
  });

  const checkpoint = async (validationLoss: number | undefined): Promise<void> => {
    if (!store) return;
    const name = await saveCheckpoint(
      store,
      graph.parameters.map((parameter, index) => ({
        name: parameter.name,
        data: parameters[index] as Float32Array,
      })),
      optimizer.state(),
      {
        step,
        dataPosition: position,
        randomState: random.state,
        seed: options.seed,
        lossHistory,
        validationLoss,
        bestValidationLoss,
        evaluationsWithoutImprovement,
        lossScaler: scaler?.state(),
      },
    );
    lastCheckpoint = store.location(name);
    events?.emit('checkpoint:saved', { jobId, step, uri: lastCheckpoint, validationLoss });
    if (
      validationLoss !== undefined &&
      (bestCheckpoint === undefined || validationLoss <= bestCheckpoint.loss)
    ) {
      bestCheckpoint = { name, loss: validationLoss };
    }
    const keep = new Set([name, bestCheckpoint?.name]);
    for (const existing of await store.list()) {
      if (keep.has(existing)) continue;
      await store.delete(existing);
      const match = /^step-(\d+)$/.exec(existing);
      events?.emit('checkpoint:deleted', {
        jobId,
        step: match ? Number(match[1]) : -1,
        uri: store.location(existing),
      });
    }
  };

  // DPO: the validation pairs' reference values do not change during the run; computed once.
  let validationReferences: Float32Array | undefined;
  const evaluate = async (): Promise<number | undefined> => {
    if (context.validation.length === 0) return undefined;
    if (graph.preference && !validationReferences) {
      const evaluated = options.evalBatches ? options.evalBatches * options.batchSize : undefined;
      validationReferences = await computeReferenceLogProbabilities(
        context,
        context.validation.slice(0, evaluated),
        options.batchSize,
      );
    }
    const result = await evaluateSequences(
      context,
      context.validation,
      options.batchSize,
      options.evalBatches,
      validationReferences,
    );
    evaluations.push({ step, ...result });
    events?.emit('training:evaluated', {
      jobId,
      step,
      metrics: {
        validationLoss: result.loss,
        perplexity: result.perplexity,
        ...(result.rewardAccuracy === undefined
          ? {}
          : { rewardAccuracy: result.rewardAccuracy, rewardMargin: result.rewardMargin as number }),
      },
    });
    if (
      bestValidationLoss === undefined ||
      result.loss < bestValidationLoss - (options.earlyStopping?.minDelta ?? 0)
    ) {
      bestValidationLoss = result.loss;
      evaluationsWithoutImprovement = 0;
    } else {
      evaluationsWithoutImprovement += 1;
    }
    return result.loss;
  };

  let trainedTokens = 0;
  let stoppedEarly = false;
  const gradientSums = graph.parameters.map((parameter) => new Float32Array(parameter.initial.length));
  while (step < totalSteps) {
    if (context.signal?.aborted) {
      await checkpoint(undefined);
      events?.emit('training:finished', { jobId, status: 'cancelled', summary: { step } });
      throw tunekitError(
        'TRAINING_CANCELLED',
        `Training cancelled at step ${step}${lastCheckpoint ? `; checkpoint ${lastCheckpoint}` : ''}`,
        { step, checkpoint: lastCheckpoint },
      );
    }
    const stepStarted = performance.now();
    const stepNumber = step + 1;
    for (const sum of gradientSums) sum.fill(0);
    let lossSum = 0;
    let stepTokens = 0;
    for (let micro = 0; micro < options.gradientAccumulationSteps; micro++) {
      const indices = sampler.batch(position);
      position = sampler.next(position);
      const batch = collateBatch(
        indices.map((index) => context.train[index] as TokenSequence),
        context.padId,
      );
      let output: InferenceSession.OnnxValueMapType;
      try {
        output = await runBatch(
          context,
          context.session,
          batch,
          true,
          dropoutMasks && {
            feeds: dropoutMasks,
            key: { seed: options.seed, step: stepNumber, microBatch: micro },
          },
          {
            reference: references ? batchReference(references, indices) : undefined,
            lossScale: scaler?.scale,
          },
        );
      } catch (error) {
        events?.emit('training:finished', { jobId, status: 'failed', summary: { step: stepNumber } });
        throw trainingStepError(error, stepNumber, batch);
      }
      lossSum += Number(((output[graph.lossName] as Tensor).data as Float32Array)[0]);
      graph.parameters.forEach((parameter, index) => {
        const gradient = (output[parameter.gradientName] as Tensor).data as Float32Array;
        const sum = gradientSums[index] as Float32Array;
        for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (gradient[i] as number);
      });
      stepTokens += batch.batchSize * batch.length;
    }
    const scale = 1 / options.gradientAccumulationSteps;
    if (scale !== 1)
      for (const sum of gradientSums)
        for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) * scale;
    const loss = lossSum * scale;
    const rawNorm =
      options.maxGradientNorm > 0
        ? clipGradientNorm(gradientSums, options.maxGradientNorm)
        : globalGradientNorm(gradientSums);
    const learningRate = options.learningRate * learningRateFactor(options.schedule, step, totalSteps);
    if (scaler && Number.isFinite(loss) && !Number.isFinite(rawNorm)) {
      // float16 overflow at this loss scale: skip the step and back the scale off (GradScaler).
      scaler.update(false);
      overflowSteps.push(stepNumber);
    } else if (!Number.isFinite(loss) || !Number.isFinite(rawNorm)) {
      const what = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${rawNorm}`;
      if (options.onNonFinite === 'error') {
        events?.emit('training:finished', { jobId, status: 'failed', summary: { step: stepNumber } });
        throw tunekitError(
          'TRAINING_NON_FINITE',
          `Step ${stepNumber}: the ${what}. Lower the learning rate, check the data, or pass onNonFinite: 'skip'.`,
          { step: stepNumber, loss, gradientNorm: rawNorm },
        );
      }
      skippedSteps.push(stepNumber);
      events?.emit('warning:raised', {
        source: 'trainer',
        message: `Step ${stepNumber} skipped: the ${what}`,
        details: { step: stepNumber },
      });
    } else {
      optimizer.update(gradientSums, learningRate);
      scaler?.update(true);
    }
    step = stepNumber;
    lossHistory.push(loss);
    trainedTokens += stepTokens;
    const seconds = (performance.now() - stepStarted) / 1000;
    if (step % options.logEvery === 0 || step === totalSteps) {
      events?.emit('training:step', {
        jobId,
        runName: options.runName,
        step,
        epoch: position.epoch + position.batch / microBatchesPerEpoch,
        loss,
        learningRate,
        tokensPerSecond: stepTokens / seconds,
        gradientNorm: rawNorm,
      });
    }
    let validationLoss: number | undefined;
    const evalDue = options.evalEvery > 0 && step % options.evalEvery === 0;
    if (evalDue || (step === totalSteps && context.validation.length > 0)) {
      validationLoss = await evaluate();
      if (
        options.earlyStopping &&
        validationLoss !== undefined &&
        evaluationsWithoutImprovement >= options.earlyStopping.patience
      ) {
        stoppedEarly = true;
      }
    }
    context.onProgress?.(step / totalSteps, {
      step,
      loss,
      learningRate,
      ...(validationLoss === undefined ? {} : { validationLoss }),
    });
    const checkpointDue =
      options.checkpoint !== undefined &&
      ((options.checkpoint.every > 0 && step % options.checkpoint.every === 0) ||
        ((step === totalSteps || stoppedEarly) && options.checkpoint.atEnd));
    if (checkpointDue) await checkpoint(validationLoss);
    if (stoppedEarly) break;
  }
  const durationSeconds = (performance.now() - started) / 1000;
  const result: TrainingResult = {
    status: stoppedEarly ? 'stopped-early' : 'succeeded',
    steps: step,
    lossHistory,
    evaluations,
    bestValidationLoss,
    lastCheckpoint,
    bestCheckpoint: bestCheckpoint && store ? store.location(bestCheckpoint.name) : undefined,
    skippedSteps,
    overflowSteps,
    lossScale: scaler?.scale,
    tokensPerSecond: trainedTokens / durationSeconds,
    durationSeconds,
  };
  events?.emit('training:finished', {
    jobId,
    status: 'succeeded',
    summary: {
      steps: step,
      finalLoss: lossHistory.at(-1),
      bestValidationLoss,
      stoppedEarly,
      tokensPerSecond: result.tokensPerSecond,
    },
  });
  return result;
}

export { checkpointName };
