import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventBus, TunekitError } from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceSession } from '../backends/create-device-session.js';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import type { TokenSequence } from '../data/prepare-sequences.js';
import { bigramTrainingGraph } from '../testing/bigram-graphs.js';
import { directoryCheckpointStore } from './checkpoint-store.js';
import { trainingStepError } from './training-errors.js';
import { type TrainingOptionsInput, TrainingOptionsSchema } from './training-options.js';
import { runTraining } from './training-run.js';

const VOCAB = 8;
/** Sequences following "next = (token * 3 + 1) mod 8" with a little noise: learnable bigrams. */
function makeSequences(count: number, length: number, seed: number): TokenSequence[] {
  return Array.from({ length: count }, (_, row) => {
    const ids = [(row * 5 + seed) % VOCAB];
    for (let i = 1; i < length; i++) {
      const previous = ids[i - 1] as number;
      ids.push((i + row + seed) % 7 === 0 ? (previous + 2) % VOCAB : (previous * 3 + 1) % VOCAB);
    }
    return { inputIds: ids, labels: [...ids] };
  });
}

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-training-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

interface Recorded {
  name: string;
  payload: unknown;
}

async function train(
  options: TrainingOptionsInput,
  extra: {
    checkpointDirectory?: string;
    initial?: Float32Array;
    signal?: AbortSignal;
    onStep?: (step: number) => void;
  } = {},
) {
  const ort = await loadOnnxRuntime();
  const graph = bigramTrainingGraph(VOCAB, extra.initial);
  const { session } = await createDeviceSession(graph.model, { device: 'cpu', threads: 1 });
  const recorded: Recorded[] = [];
  const events = { emit: (name: string, payload: unknown) => recorded.push({ name, payload }) } as Pick<
    EventBus,
    'emit'
  >;
  const parameters = graph.parameters.map((parameter) => parameter.initial.slice());
  const parsed = TrainingOptionsSchema.parse(options);
  try {
    const result = await runTraining({
      ort,
      graph,
      session,
      parameters,
      train: makeSequences(24, 12, 0),
      validation: makeSequences(6, 12, 3),
      padId: 0,
      options: parsed,
      checkpoints: extra.checkpointDirectory
        ? directoryCheckpointStore(extra.checkpointDirectory)
        : undefined,
      events,
      signal: extra.signal,
      onProgress: (_progress, metrics) => extra.onStep?.(metrics.step as number),
    });
    return { result, recorded, parameters };
  } finally {
    await session.release();
  }
}

describe('runTraining', () => {
  it('lowers the training and validation loss and reports events', async () => {
    const { result, recorded } = await train({
      maxSteps: 30,
      batchSize: 4,
      learningRate: 0.1,
      evalEvery: 10,
    });
    expect(result.lossHistory).toHaveLength(30);
    expect(result.lossHistory.at(-1)).toBeLessThan((result.lossHistory[0] as number) * 0.6);
    expect(result.evaluations.map((evaluation) => evaluation.step)).toEqual([10, 20, 30]);
    expect(result.evaluations[2]?.loss).toBeLessThan(result.evaluations[0]?.loss as number);
    expect(result.evaluations[0]?.perplexity).toBeCloseTo(Math.exp(result.evaluations[0]?.loss as number), 6);
    const names = recorded.map((event) => event.name);
    expect(names[0]).toBe('training:started');
    expect(names.filter((name) => name === 'training:step')).toHaveLength(30);
    expect(names.filter((name) => name === 'training:evaluated')).toHaveLength(3);
    expect(names.at(-1)).toBe('training:finished');
  });

  it('resumes after a cancellation so that the loss curve equals the uninterrupted one', async () => {
    const options: TrainingOptionsInput = {
      maxSteps: 12,
      batchSize: 4,
      learningRate: 0.05,
      schedule: { kind: 'cosine', warmupSteps: 3 },
    };
    const full = await train(
      { ...options, checkpoint: { every: 4 } },
      { checkpointDirectory: join(directory, 'full') },
    );

    const interrupted = join(directory, 'interrupted');
    const controller = new AbortController();
    const error = await train(
      { ...options, checkpoint: { every: 4 } },
      {
        checkpointDirectory: interrupted,
        signal: controller.signal,
        onStep: (step) => step === 6 && controller.abort(),
      },
    ).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('TRAINING_CANCELLED');
    expect((error as TunekitError).details.step).toBe(6);
    expect(await readdir(interrupted)).toContain('step-000006');

    const resumed = await train(
      { ...options, checkpoint: { every: 4 }, resume: true },
      { checkpointDirectory: interrupted },
    );
    expect(resumed.result.lossHistory).toEqual(full.result.lossHistory);
    expect(resumed.parameters).toEqual(full.parameters);
  });

  it('keeps only the best and the last checkpoint', async () => {
    const checkpoints = join(directory, 'keep');
    const { result, recorded } = await train(
      { maxSteps: 10, batchSize: 4, learningRate: 0.1, evalEvery: 2, checkpoint: { every: 2 } },
      { checkpointDirectory: checkpoints },
    );
    const left = (await readdir(checkpoints)).sort();
    expect(left.length).toBeLessThanOrEqual(2);
    expect(left).toContain('step-000010');
    expect(result.bestCheckpoint).toBeDefined();
    expect(left.map((name) => join(checkpoints, name))).toContain(result.bestCheckpoint);
    expect(recorded.filter((event) => event.name === 'checkpoint:saved')).toHaveLength(5);
    expect(recorded.filter((event) => event.name === 'checkpoint:deleted').length).toBeGreaterThanOrEqual(3);
  });

  it('sums micro-batches: accumulation 2 × batch 2 equals one batch of 4', async () => {
    const base = { maxSteps: 5, learningRate: 0.05, shuffle: false };
    const accumulated = await train({ ...base, batchSize: 2, gradientAccumulationSteps: 2 });
    const single = await train({ ...base, batchSize: 4 });
    accumulated.result.lossHistory.forEach((loss, index) => {
      expect(loss).toBeCloseTo(single.result.lossHistory[index] as number, 5);
    });
  });

  it('stops early when validation loss stops improving', async () => {
    const { result } = await train({
      maxSteps: 40,
      batchSize: 4,
      learningRate: 0.01,
      evalEvery: 2,
      earlyStopping: { patience: 2, minDelta: 100 },
    });
    expect(result.status).toBe('stopped-early');
    expect(result.steps).toBe(6);
  });

  it('stops with an error naming the step on a non-finite loss, or skips when asked', async () => {
    const poisoned = new Float32Array(VOCAB * VOCAB).fill(Number.NaN);
    const error = await train({ maxSteps: 3, batchSize: 4 }, { initial: poisoned }).catch(
      (caught: unknown) => caught,
    );
    expect(TunekitError.isInstance(error) && error.code).toBe('TRAINING_NON_FINITE');
    expect((error as Error).message).toMatch(/^Step 1: the loss is NaN/);

    const skipped = await train({ maxSteps: 3, batchSize: 4, onNonFinite: 'skip' }, { initial: poisoned });
    expect(skipped.result.skippedSteps).toEqual([1, 2, 3]);
    expect(skipped.recorded.filter((event) => event.name === 'warning:raised')).toHaveLength(3);
  });

  it('turns an allocation failure into an error that says what to lower', () => {
    const error = trainingStepError(new Error('std::bad_alloc'), 7, { batchSize: 64, length: 1024 });
    expect(error.code).toBe('TRAINING_OUT_OF_MEMORY');
    expect(error.message).toMatch(/Step 7: a batch of 64 × 1024 tokens .* Lower batchSize .* maxLength/);
  });
});
