import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  type ArtifactStore,
  definePlugin,
  type JobContext,
  parseOrThrow,
  TRAINING_JOB_KIND,
  type TrainingDataSource,
  type TrainingJobInput,
  TrainingJobInputSchema,
  type TrainingJobOutput,
  type Tunekit,
  type TunekitPlugin,
  trainingOutputUri,
  tunekitError,
} from '@tunekit/core';
import { cpuBackend, cudaBackend } from '../backends/onnxruntime-backend.js';
import type { TrainerBackend } from '../backends/trainer-backend.js';
import { CHECKPOINT_MANIFEST, CHECKPOINT_TENSORS, listCheckpoints } from '../train/checkpoint-manager.js';
import {
  artifactCheckpointStore,
  type CheckpointStore,
  directoryCheckpointStore,
} from '../train/checkpoint-store.js';
import { createTrainer } from '../train/create-trainer.js';
import { trainInWorker } from '../train/train-in-worker.js';
import type { TrainingOptionsInput } from '../train/training-options.js';
import type { TrainingResult } from '../train/training-run.js';
import { watchInThreadMemory } from '../train/watch-in-thread-memory.js';
import { createCheckpointMirror } from './checkpoint-mirror.js';
import { trainingOptionsFromJob } from './training-options-from-job.js';

/** Options of {@link trainerPlugin}. */
export interface TrainerPluginOptions {
  /**
   * Run each training job in a worker thread (default true) so the kit's thread stays responsive;
   * checkpoints are mirrored into the artifact store by this thread. `false` trains in-thread: a
   * job's `memoryLimitMb` is then enforced by the resident-memory watchdog alone, which stops the
   * run at its next step (there is no worker heap to limit or thread to terminate).
   */
  worker?: boolean;
  /** Job kind to register (default {@link TRAINING_JOB_KIND}, `train`). */
  jobKind?: string;
  /**
   * The device every job of this process trains on, whatever its input asks (`tunekit worker
   * --device`): a GPU worker trains on `cuda`, a CPU worker on `cpu`. Default: the job's `device`.
   */
  device?: 'cpu' | 'cuda';
}

async function readRows(source: TrainingDataSource, kit: Tunekit): Promise<unknown[]> {
  if ('rows' in source) return source.rows;
  if ('versionId' in source) {
    const rows: unknown[] = [];
    for await (const row of kit.datasets.rows(source.versionId)) rows.push(row);
    return rows;
  }
  const artifacts = kit.artifacts;
  const text = new TextDecoder().decode(await artifacts.get(source.uri));
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw tunekitError('VALIDATION_FAILED', `Line ${index + 1} of ${source.uri} is not JSON`);
      }
    });
}

/** Copies one complete checkpoint between stores: tensors first, manifest last. */
async function copyCheckpoint(from: CheckpointStore, to: CheckpointStore, checkpoint: string): Promise<void> {
  for (const file of [CHECKPOINT_TENSORS, CHECKPOINT_MANIFEST]) {
    const data = await from.read(checkpoint, file);
    if (data) await to.write(checkpoint, file, data);
  }
}

/** Copies every complete checkpoint of `from` into `to`. */
async function copyCheckpoints(from: CheckpointStore, to: CheckpointStore): Promise<void> {
  for (const { name } of await listCheckpoints(from)) await copyCheckpoint(from, to, name);
}

/** Copies a local folder's files into the artifact store under a prefix. */
async function uploadFolder(folder: string, artifacts: ArtifactStore, prefix: string): Promise<string> {
  const base = prefix.replace(/\/+$/, '');
  for (const file of await readdir(folder)) {
    await artifacts.put(`${base}/${file}`, new Uint8Array(await readFile(join(folder, file))));
  }
  return base;
}

function summarize(result: TrainingResult, output?: string): TrainingJobOutput {
  const finalEvaluation = result.evaluations.at(-1);
  return {
    steps: result.steps,
    finalLoss: result.lossHistory.at(-1),
    bestValidationLoss: result.bestValidationLoss,
    finalPerplexity: finalEvaluation?.perplexity,
    tokensPerSecond: result.tokensPerSecond,
    lastCheckpoint: result.lastCheckpoint,
    bestCheckpoint: result.bestCheckpoint,
    output,
    status: result.status,
  };
}

/**
 * The trainer as a kit plugin: registers the `cpu` and `cuda` backends on the `trainerBackend`
 * extension point and the `train` job kind, so `kit.jobs.submit('train', input)` trains with
 * progress, `training:*`/`checkpoint:*` events (trackers listen to them) and checkpoints in the
 * kit's artifact store under `artifact://jobs/<jobId>/checkpoints`. A retried job resumes from its
 * latest checkpoint. Failures throw, so the queue marks the job failed with the reason.
 */
export function trainerPlugin(pluginOptions: TrainerPluginOptions = {}): TunekitPlugin {
  return definePlugin({
    name: 'trainer',
    setup(context) {
      const { kit } = context;
      const backends: TrainerBackend[] = [cpuBackend(), cudaBackend()];
      for (const backend of backends) {
        if (!context.extensions.get('trainerBackend', backend.name)) {
          context.extensions.add('trainerBackend', backend.name, backend);
        }
      }
      const handler = async (raw: TrainingJobInput, job: JobContext): Promise<TrainingJobOutput> => {
        // Validated at submit; parsed again so records written by older versions get defaults.
        const input = parseOrThrow(TrainingJobInputSchema, raw, 'train job input');
        const outputUri = trainingOutputUri(input, job.jobId);
        const trainable = input.lora !== undefined || input.adapter !== undefined ? 'lora' : 'full';
        const jobOptions = trainingOptionsFromJob(input);
        const rows = await readRows(input.dataset, kit);
        const validation = input.validation ? await readRows(input.validation, kit) : undefined;
        const prefix = `artifact://jobs/${job.jobId}/checkpoints`;
        const options = {
          ...jobOptions,
          checkpoint: { every: 0, ...jobOptions.checkpoint, prefix },
          // A retry (or a recovered crash) continues from the job's latest checkpoint.
          resume: job.attempt > 1,
        } as TrainingOptionsInput;
        const progress = (value: number, metrics: Record<string, number>) =>
          job.progress(value, {
            message: `step ${metrics.step}`,
            metrics,
          });
        const outputFolder = outputUri ? await mkdtemp(join(tmpdir(), 'tunekit-output-')) : undefined;
        const workerCheckpoints =
          (pluginOptions.worker ?? true) ? await mkdtemp(join(tmpdir(), 'tunekit-checkpoints-')) : undefined;
        try {
          if (workerCheckpoints) {
            // The worker writes checkpoints to a private folder; this thread mirrors them into the
            // artifact store before announcing them (createCheckpointMirror keeps the newest one
            // there at all times), and restores them from the store before a resume.
            const local = directoryCheckpointStore(workerCheckpoints);
            const remote = artifactCheckpointStore(kit.artifacts, prefix);
            if (options.resume) await copyCheckpoints(remote, local);
            const toUri = (path: string) =>
              path.startsWith(workerCheckpoints) ? remote.location(basename(path)) : path;
            const mirror = createCheckpointMirror({
              local,
              remote,
              emit: (name, payload) => kit.events.emit(name, payload as never),
            });
            let result: Awaited<ReturnType<typeof trainInWorker>>;
            try {
              result = await trainInWorker(
                {
                  model: input.baseModel,
                  tokenizer: input.tokenizer,
                  lora: input.lora,
                  adapter: input.adapter,
                  trainable,
                  device: pluginOptions.device ?? input.device,
                  threads: input.threads,
                  dropout: input.dropout,
                  gradientCheckpointing: input.hyperparameters.gradientCheckpointing,
                  precision: input.hyperparameters.precision,
                  quantization: input.quantization,
                  jobId: job.jobId,
                  rows,
                  validation,
                  options: {
                    ...options,
                    checkpoint: { ...options.checkpoint, prefix: undefined, directory: workerCheckpoints },
                  },
                  saveTo: outputFolder,
                },
                {
                  signal: job.signal,
                  onProgress: progress,
                  events: { emit: mirror.relay },
                  memoryLimitMb: input.memoryLimitMb,
                },
              );
            } finally {
              // A cancelled or failed run still leaves its last checkpoint in the store.
              await mirror.flush();
            }
            result.lastCheckpoint &&= toUri(result.lastCheckpoint);
            result.bestCheckpoint &&= toUri(result.bestCheckpoint);
            const output =
              outputFolder && outputUri
                ? await uploadFolder(outputFolder, kit.artifacts, outputUri)
                : undefined;
            return summarize(result, output);
          }
          const { loadPeftAdapter } = await import('../adapters/peft-adapter.js');
          const { saveTrained } = await import('../adapters/save-trained.js');
          // In this thread nothing can be terminated: past the memory limit the run is stopped at
          // its next step (as a cancel, leaving a checkpoint) and the job fails with JOB_MEMORY_LIMIT.
          const memory = watchInThreadMemory(input.memoryLimitMb, job.signal);
          try {
            const trainer = await createTrainer({
              model: input.baseModel,
              tokenizer: input.tokenizer,
              lora: input.adapter ? await loadPeftAdapter(input.adapter) : input.lora,
              trainable,
              device: pluginOptions.device ?? input.device,
              threads: input.threads,
              dropout: input.dropout,
              gradientCheckpointing: input.hyperparameters.gradientCheckpointing,
              precision: input.hyperparameters.precision,
              quantization: input.quantization,
              jobId: job.jobId,
              events: kit.events,
              artifacts: kit.artifacts,
              backends: Object.fromEntries(
                context.extensions.list('trainerBackend').map((entry) => [entry.name, entry.value]),
              ),
            });
            try {
              const result = await trainer.train(rows, {
                ...options,
                validation,
                signal: memory.signal,
                onProgress: (value, metrics) => {
                  memory.check();
                  progress(value, metrics);
                },
              });
              let output: string | undefined;
              if (outputFolder && outputUri) {
                await saveTrained(trainer, outputFolder);
                output = await uploadFolder(outputFolder, kit.artifacts, outputUri);
              }
              return summarize(result, output);
            } finally {
              await trainer.close();
            }
          } catch (error) {
            throw memory.exceeded() ?? error;
          } finally {
            memory.stop();
          }
        } finally {
          if (outputFolder) await rm(outputFolder, { recursive: true, force: true });
          if (workerCheckpoints) await rm(workerCheckpoints, { recursive: true, force: true });
        }
      };
      // Runs in flight: closing the kit aborts them (they stay resumable) and the teardown waits for
      // each to stop, so the checkpoint a run saves on its way out reaches the store before it closes.
      const running = new Set<Promise<unknown>>();
      const tracked = (raw: TrainingJobInput, job: JobContext): Promise<TrainingJobOutput> => {
        const run = handler(raw, job);
        const settled = run.then(
          () => undefined,
          () => undefined,
        );
        running.add(settled);
        void settled.then(() => running.delete(settled));
        return run;
      };
      kit.jobs.register(pluginOptions.jobKind ?? TRAINING_JOB_KIND, tracked, {
        requeueOnRecovery: true,
        inputSchema: TrainingJobInputSchema,
      });
      return async () => {
        await Promise.all([...running]);
      };
    },
  });
}
