import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ArtifactStore,
  createEventBus,
  createExtensions,
  createSilentLogger,
  type EventEnvelope,
  HyperparametersSchema,
  type JobContext,
  type JobHandler,
  type PluginContext,
  type TrainingJobOutput,
  type Tunekit,
  TunekitError,
} from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { directoryArtifactStore, memoryArtifactStore } from '../testing/test-artifact-stores.js';
import { trainerPlugin } from './trainer-plugin.js';

let directory: string;
let model: string;
const rows = Array.from({ length: 16 }, (_, index) => ({
  text: `it was the best of times, number ${index}. `,
}));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-plugin-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Sets the plugin up on a minimal kit (real event bus and extensions) and returns the `train` handler. */
async function setUp(artifacts: ArtifactStore, worker: boolean) {
  const events = createEventBus();
  const extensions = createExtensions();
  const handlers = new Map<string, JobHandler>();
  const kit = {
    events,
    artifacts,
    extensions,
    logger: createSilentLogger(),
    jobs: { register: (kind: string, handler: JobHandler) => handlers.set(kind, handler) },
  } as unknown as Tunekit;
  const context = {
    kit,
    events,
    extensions,
    logger: kit.logger,
    provide: () => undefined,
    get: () => undefined,
  } as unknown as PluginContext;
  await trainerPlugin({ worker }).setup(context);
  const seen: EventEnvelope[] = [];
  events.onAny((envelope) => seen.push(envelope));
  const handler = handlers.get('train') as JobHandler<unknown, TrainingJobOutput>;
  const run = (input: unknown, overrides: Partial<JobContext> = {}) => {
    const progress: number[] = [];
    const job: JobContext = {
      jobId: 'job-1',
      kind: 'train',
      attempt: 1,
      signal: new AbortController().signal,
      progress: (value) => progress.push(value),
      ...overrides,
    };
    return { result: handler(input, job), progress };
  };
  return { run, seen, extensions };
}

const input = {
  lora: { r: 4, alpha: 8 },
  threads: 1,
  dataset: { rows },
  validation: { rows: rows.slice(0, 2) },
  hyperparameters: {
    maxSteps: 6,
    batchSize: 4,
    maxLength: 32,
    learningRate: 1e-2,
    evalEvery: 3,
    checkpointEvery: 3,
  },
  outputName: 'adapters',
};

/** A hyper-parameter of core's job contract. */
type HyperparameterField = keyof typeof HyperparametersSchema.shape;

/** A hyper-parameter sent, and where the trainer reports it in `training:started` params. */
interface HyperparameterMappingRow {
  field: HyperparameterField;
  value: unknown;
  /** `adamW.betas` …; none: checked by its effect. */
  trainer?: string;
}

/** Every hyper-parameter the contract test sends (one list: the job input and the expected params). */
const hyperparameterMapping = [
  { field: 'maxSteps', value: 4 },
  { field: 'batchSize', value: 4 },
  { field: 'maxLength', value: 32 },
  { field: 'learningRate', value: 1e-2, trainer: 'learningRate' },
  { field: 'weightDecay', value: 0.05, trainer: 'adamW.weightDecay' },
  { field: 'adamBetas', value: [0.8, 0.95], trainer: 'adamW.betas' },
  { field: 'adamEpsilon', value: 1e-6, trainer: 'adamW.epsilon' },
  { field: 'decoupledWeightDecay', value: false, trainer: 'adamW.decoupledWeightDecay' },
  { field: 'biasCorrection', value: false, trainer: 'adamW.biasCorrection' },
  { field: 'schedule', value: 'linear', trainer: 'schedule.kind' },
  { field: 'warmupSteps', value: 1, trainer: 'schedule.warmupSteps' },
  { field: 'minimumLearningRateRatio', value: 0.5, trainer: 'schedule.minimumRatio' },
  { field: 'maxGradientNorm', value: 0.5, trainer: 'maxGradientNorm' },
  { field: 'packing', value: true, trainer: 'packing' },
  { field: 'overflow', value: 'reject', trainer: 'overflow' },
  { field: 'shuffle', value: false, trainer: 'shuffle' },
  { field: 'onNonFinite', value: 'skip', trainer: 'onNonFinite' },
  { field: 'logEvery', value: 2, trainer: 'logEvery' },
  { field: 'evalBatches', value: 1, trainer: 'evalBatches' },
  { field: 'seed', value: 7, trainer: 'seed' },
] as const satisfies readonly HyperparameterMappingRow[];

/** Hyper-parameters the table above leaves out, and the test that covers each. */
const hyperparametersCoveredElsewhere: Record<
  Exclude<HyperparameterField, (typeof hyperparameterMapping)[number]['field']>,
  string
> = {
  epochs: 'passed as is; train/create-trainer.test.ts (epochs)',
  gradientAccumulationSteps: 'passed as is; train/training-run.test.ts (accumulation)',
  evalEvery: "this file's first test (evaluation every 3 steps)",
  checkpointEvery: "this file's first test (checkpoints every 3 steps)",
  earlyStopping: 'passed as is; train/training-run.test.ts (early stopping)',
  gradientCheckpointing: "this file's resume test (a graph option: createTrainer, not train)",
  precision: "this file's precision test (a graph option: createTrainer, not train)",
};

describe('trainerPlugin', () => {
  it("lists every hyper-parameter of the job's contract once: in the mapping test or where else it is covered", () => {
    const listed = [
      ...hyperparameterMapping.map(({ field }) => field),
      ...Object.keys(hyperparametersCoveredElsewhere),
    ].sort();
    expect(listed).toEqual(Object.keys(HyperparametersSchema.shape).sort());
  });

  it('registers the cpu and cuda backends and trains a train job in-thread with events and checkpoints', async () => {
    const artifacts = memoryArtifactStore();
    const { run, seen, extensions } = await setUp(artifacts, false);
    expect(extensions.list('trainerBackend').map((entry) => entry.name)).toEqual(['cpu', 'cuda']);
    const { result, progress } = run({ ...input, baseModel: model });
    const output = await result;
    expect(output).toMatchObject({
      steps: 6,
      status: 'succeeded',
      output: 'artifact://models/adapters/job-1',
    });
    expect(output.lastCheckpoint).toBe('artifact://jobs/job-1/checkpoints/step-000006');
    expect(progress.at(-1)).toBe(1);
    const names = seen.map((envelope) => envelope.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'training:started',
        'training:step',
        'training:evaluated',
        'checkpoint:saved',
        'training:finished',
      ]),
    );
    expect(artifacts.files.has('artifact://models/adapters/job-1/adapter_config.json')).toBe(true);
    expect(artifacts.files.has('artifact://models/adapters/job-1/adapter_model.safetensors')).toBe(true);
    expect([...artifacts.files.keys()].some((uri) => uri.endsWith('step-000006/trainer_state.json'))).toBe(
      true,
    );
  });

  it('trains in a worker thread, mirroring checkpoints into the artifact store under artifact URIs', async () => {
    const artifacts = directoryArtifactStore(join(directory, 'artifacts'));
    const { run, seen } = await setUp(artifacts, true);
    const output = await run({ ...input, baseModel: model }).result;
    expect(output.steps).toBe(6);
    const saved = seen.filter((envelope) => envelope.name === 'checkpoint:saved');
    expect(saved.map((envelope) => (envelope.payload as { uri: string }).uri)).toEqual([
      'artifact://jobs/job-1/checkpoints/step-000003',
      'artifact://jobs/job-1/checkpoints/step-000006',
    ]);
    expect(await artifacts.exists('artifact://models/adapters/job-1/adapter_config.json')).toBe(true);

    // A retry of the same job resumes from its checkpoint instead of starting over (here with the
    // gradientCheckpointing hyperparameter, which reaches the worker's trainer: same adapters).
    const retried = await run(
      {
        ...input,
        baseModel: model,
        hyperparameters: { ...input.hyperparameters, maxSteps: 8, gradientCheckpointing: true },
      },
      { attempt: 2 },
    ).result;
    expect(retried.steps).toBe(8);
    const started = seen.filter((envelope) => envelope.name === 'training:started').at(-1);
    expect((started as EventEnvelope).payload).toMatchObject({ params: { resumedFromStep: 6 } });
  });

  it("passes every hyper-parameter of the job's contract to the trainer (optimizer, schedule floor, evaluation, logging)", async () => {
    const { run, seen } = await setUp(memoryArtifactStore(), false);
    const hyperparameters = Object.fromEntries(
      hyperparameterMapping.map(({ field, value }) => [field, value]),
    ) as Record<HyperparameterField, unknown>;
    const output = await run({ ...input, baseModel: model, hyperparameters }).result;
    expect(output.steps).toBe(4);
    const started = seen.find((envelope) => envelope.name === 'training:started')?.payload as {
      params: Record<string, unknown>;
    };
    // What the trainer reports under its own names, built from the same table.
    const expected: Record<string, unknown> = {};
    const rows: readonly HyperparameterMappingRow[] = hyperparameterMapping;
    for (const { value, trainer } of rows) {
      if (trainer === undefined) continue;
      const [head, leaf] = trainer.split('.') as [string, string | undefined];
      if (leaf === undefined) expected[head] = value;
      else expected[head] = { ...(expected[head] as object | undefined), [leaf]: value };
    }
    expect(started.params).toMatchObject(expected);
    // The trainer acts on them: a step event every 2 steps, and the linear decay stops at half the peak.
    const steps = seen
      .filter((envelope) => envelope.name === 'training:step')
      .map((envelope) => envelope.payload as { step: number; learningRate: number });
    expect(steps.map((step) => step.step)).toEqual([2, 4]);
    expect(steps.at(-1)?.learningRate).toBeGreaterThanOrEqual(0.5e-2);
  });

  it.each([false, true])(
    'the precision hyper-parameter reaches the trainer (worker: %s): bfloat16 on the CPU fails the job with PRECISION_UNSUPPORTED (in process: float16 trains)',
    async (worker) => {
      const { run } = await setUp(memoryArtifactStore(), worker);
      const refused = await run({
        ...input,
        baseModel: model,
        hyperparameters: { ...input.hyperparameters, maxSteps: 1, precision: 'bfloat16' },
      }).result.catch((caught: unknown) => caught);
      expect(TunekitError.isInstance(refused) && refused.code).toBe('PRECISION_UNSUPPORTED');
      if (worker) return; // One worker start is enough to show the routing there.
      const trained = await run({
        ...input,
        baseModel: model,
        hyperparameters: { ...input.hyperparameters, maxSteps: 2, precision: 'float16' },
      }).result;
      expect(trained.steps).toBe(2);
    },
  );

  it('fails the job with a coded reason on bad input or a missing model', async () => {
    const { run } = await setUp(memoryArtifactStore(), false);
    const invalid = await run({ dataset: { rows } }).result.catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(invalid) && invalid.code).toBe('VALIDATION_FAILED');
    expect((invalid as Error).message).toMatch(/baseModel/);
    const missing = await run({ ...input, baseModel: join(directory, 'nope') }).result.catch(
      (caught: unknown) => caught,
    );
    expect(TunekitError.isInstance(missing) && missing.code).toBe('MODEL_INVALID');
  });
});
