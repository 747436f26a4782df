import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { relayedTunekitError, type TunekitError } from '@tunekit/core';
import { type ClientServerSentEvent, createTunekitClient, type TunekitClient } from '../client/index.js';
import { TrainRequestSchema } from '../routes/training-routes.js';
import { toWire } from '../wire/wire-case.js';
import { type CliContext, CliUsageError } from './cli-command.js';
import { type TrainConfigFile, validateTrainConfig } from './train-config.js';
import type { ProgressReporter, TrainingProgressEvent } from './training-progress.js';

/** Fields of a training config that `--server` sends; the others name local files or code. */
const REMOTE_FIELDS = new Set([
  'baseModel',
  'dataset',
  'validation',
  'outputName',
  'lora',
  'hyperparameters',
  'registerAs',
  'device',
  'threads',
  'dpo',
]);

const finalStatuses = new Set(['succeeded', 'failed', 'cancelled']);

/** How a remote run ended: a final job status, or `interrupted` (Ctrl-C, the job stopped remotely). */
export type RemoteRunOutcome =
  | { status: 'succeeded' | 'failed' | 'cancelled'; error?: string; output?: unknown }
  | { status: 'interrupted' };

/** Options of {@link trainRemotely}. */
export interface TrainRemotelyOptions {
  /** The server's API URL (with its mount prefix). */
  server: string;
  /** The configuration file (already read, `--set` applied), unless resuming. */
  file?: TrainConfigFile;
  /** The file's path (its name is the default output name). */
  configPath?: string;
  /** A job id to resume (`POST /train/{id}/resume`) instead of submitting. */
  resume?: string;
  reporter: ProgressReporter;
}

/** A problem+json answer of the server as a coded error (its code, status and detail). */
function remoteError(status: number, problem: unknown, what: string): TunekitError {
  const document = (problem ?? {}) as { code?: string; detail?: string; issues?: unknown };
  return relayedTunekitError({
    code: document.code ?? 'INTERNAL',
    status,
    message: `${what}: ${document.detail ?? `the server answered ${status}`}`,
    details: document.issues ? { issues: document.issues } : undefined,
  });
}

/**
 * The typed client for `--server`: credentials from the environment, like `curl` users expect.
 * `TUNEKIT_API_KEY` (an API key), `TUNEKIT_TOKEN` (a bearer token), or `TUNEKIT_USERNAME` and
 * `TUNEKIT_PASSWORD` (logged in once).
 */
export async function remoteClientOf(context: CliContext, server: string): Promise<TunekitClient> {
  let baseUrl: string;
  try {
    baseUrl = new URL(server).toString().replace(/\/+$/, '');
  } catch {
    throw new CliUsageError(
      `--server expects the server's URL, e.g. http://127.0.0.1:3000, got "${server}"`,
      'train',
    );
  }
  const client = createTunekitClient({
    baseUrl,
    apiKey: context.env.TUNEKIT_API_KEY,
    token: context.env.TUNEKIT_TOKEN,
  });
  const username = context.env.TUNEKIT_USERNAME;
  if (username && !context.env.TUNEKIT_API_KEY && !context.env.TUNEKIT_TOKEN) {
    try {
      await client.login(username, context.env.TUNEKIT_PASSWORD ?? '');
    } catch (error) {
      const failure = error as { status?: number; problem?: unknown };
      if (failure.status !== undefined)
        throw remoteError(failure.status, failure.problem, `Logging in as ${username}`);
      throw error;
    }
  }
  return client;
}

/** A dataset field: a local file is uploaded (a new dataset version); anything else is a version id. */
async function datasetVersionOf(
  client: TunekitClient,
  value: unknown,
  file: TrainConfigFile,
  kind: 'training' | 'validation',
): Promise<string> {
  if (typeof value !== 'string') {
    throw new CliUsageError(
      `with --server, ${kind === 'training' ? 'dataset' : 'validation'} is a file or a dataset version id`,
      'train',
    );
  }
  const path = resolve(file.directory, value);
  if (!existsSync(path)) return value;
  const name =
    basename(path)
      .replace(/\.[^.]+$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 100) || 'dataset';
  try {
    const version = await client.uploadDataset(
      { name, kind, file_name: basename(path) },
      await readFile(path),
      'application/octet-stream',
    );
    return version.id;
  } catch (error) {
    const failure = error as { status?: number; problem?: unknown };
    if (failure.status !== undefined)
      throw remoteError(failure.status, failure.problem, `Uploading ${value}`);
    throw error;
  }
}

/**
 * The `POST /train` body of a configuration: the same file as a local run, validated by the same
 * schema first; dataset files are uploaded, `baseModel` names a model the server serves (its id or a
 * registry name), and the output is named by `outputName`, `registerAs.name` or the file's name.
 */
async function trainRequestOf(client: TunekitClient, file: TrainConfigFile, configPath: string) {
  validateTrainConfig(file);
  const config = file.config;
  const local = Object.keys(config).filter((key) => !REMOTE_FIELDS.has(key));
  if (local.length > 0) {
    throw new CliUsageError(
      `with --server, ${local.join(', ')} cannot be sent (the server trains from what it serves and stores)`,
      'train',
    );
  }
  const baseModel = config.baseModel;
  if (typeof baseModel !== 'string' || existsSync(resolve(file.directory, baseModel))) {
    throw new CliUsageError(
      'with --server, baseModel names a model the server serves (a served model id or a registry name), not a local folder or `create`',
      'train',
    );
  }
  const registerAs = config.registerAs as { name?: string } | undefined;
  const outputName =
    (config.outputName as string | undefined) ??
    registerAs?.name ??
    basename(configPath, extname(configPath)).replace(/[^A-Za-z0-9._-]+/g, '-');
  const body = {
    base_model: baseModel,
    dataset_version_id: await datasetVersionOf(client, config.dataset, file, 'training'),
    ...(config.validation !== undefined
      ? {
          validation_dataset_version_id: await datasetVersionOf(
            client,
            config.validation,
            file,
            'validation',
          ),
        }
      : {}),
    output_name: outputName,
    lora: config.lora,
    hyperparameters: config.hyperparameters ?? {},
    register_as: config.registerAs,
    device: config.device,
    threads: config.threads,
    dpo: config.dpo,
  };
  return toWire(TrainRequestSchema, body) as Record<string, unknown>;
}

/** `validation_loss` → `validationLoss`. */
function toCamelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, next: string) => next.toUpperCase());
}

/** Metric names as the trainer gives them (the wire snake-cases event payloads). */
function camelKeys(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([key, value]) => [toCamelCase(key), value]));
}

/** A job output in the TypeScript API's casing (as a local run reports it). */
function camelDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelDeep);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [toCamelCase(key), camelDeep(item)]));
}

/** One SSE event of `GET /train/{id}/events` as a progress event (undefined for the others). */
function progressEventOf(
  jobId: string,
  event: ClientServerSentEvent,
  totalSteps: number | undefined,
): TrainingProgressEvent | undefined {
  const data = (event.data ?? {}) as Record<string, unknown>;
  if (event.event === 'step') {
    return {
      type: 'step',
      jobId,
      step: data.step as number,
      totalSteps,
      epoch: data.epoch as number | undefined,
      loss: data.loss as number,
      learningRate: data.learning_rate as number | undefined,
      tokensPerSecond: data.tokens_per_second as number | undefined,
    };
  }
  if (event.event === 'evaluated') {
    return {
      type: 'evaluated',
      jobId,
      step: data.step as number,
      metrics: camelKeys(data.metrics as Record<string, number>),
    };
  }
  if (event.event === 'checkpoint') {
    return { type: 'checkpoint', jobId, step: data.step as number, uri: data.uri as string };
  }
  return undefined;
}

/**
 * `tunekit train --server URL`: submits the configuration to a Tunekit server with the typed client
 * (or resumes a job there), follows `GET /train/{id}/events` with the same reporter as a local run,
 * and on Ctrl-C stops the job remotely (`POST /train/{id}/stop`: the trainer saves a checkpoint;
 * `--resume <id> --server URL` continues it). A stream that ends before the job (a server restart)
 * is opened again.
 */
export async function trainRemotely(
  context: CliContext,
  options: TrainRemotelyOptions,
): Promise<{ jobId: string; outcome: RemoteRunOutcome }> {
  const client = await remoteClientOf(context, options.server);
  let jobId: string;
  let totalSteps: number | undefined;
  if (options.resume) {
    const { data, error, response } = await client.POST('/train/{id}/resume', {
      params: { path: { id: options.resume } },
    });
    if (!data) throw remoteError(response.status, error, `Resuming job ${options.resume}`);
    jobId = data.id;
    totalSteps = (data.output as { totalSteps?: number } | undefined)?.totalSteps;
  } else {
    const file = options.file as TrainConfigFile;
    const body = await trainRequestOf(client, file, options.configPath ?? 'train.yaml');
    const { data, error, response } = await client.POST('/train', { body: body as never });
    if (!data) throw remoteError(response.status, error, 'Submitting the training job');
    jobId = data.job_id;
    totalSteps = (body.hyperparameters as { max_steps?: number } | undefined)?.max_steps;
  }
  options.reporter.report({ type: 'submitted', jobId, resumed: options.resume !== undefined });

  const stream = new AbortController();
  const onInterrupt = () => stream.abort();
  context.signal.addEventListener('abort', onInterrupt, { once: true });
  try {
    let last: { status: string; error?: { message?: string }; output?: unknown } | undefined;
    while (!context.signal.aborted) {
      try {
        for await (const event of client.trainingEvents(jobId, { signal: stream.signal })) {
          if (event.event === 'status') {
            last = event.data as typeof last;
            if (last && finalStatuses.has(last.status)) break;
            continue;
          }
          if (event.event === 'progress' && totalSteps === undefined) {
            const data = event.data as { progress?: number; metrics?: { step?: number } };
            if (data.progress && data.metrics?.step)
              totalSteps = Math.round(data.metrics.step / data.progress);
          }
          const progress = progressEventOf(jobId, event, totalSteps);
          if (progress) options.reporter.report(progress);
        }
      } catch (error) {
        if (context.signal.aborted) break;
        throw error;
      }
      if (last && finalStatuses.has(last.status)) break;
      // The stream ended before the job did (a restart): read the job, then follow it again.
      const { data } = await client.GET('/train/{id}', { params: { path: { id: jobId } } });
      if (data && finalStatuses.has(data.status)) {
        last = data as typeof last;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (context.signal.aborted) {
      const { error, response } = await client.POST('/train/{id}/stop', { params: { path: { id: jobId } } });
      // 409: it ended meanwhile; anything else is worth saying.
      if (error && response.status !== 409)
        throw remoteError(response.status, error, `Stopping job ${jobId}`);
      return { jobId, outcome: { status: 'interrupted' } };
    }
    const status = (last?.status ?? 'failed') as 'succeeded' | 'failed' | 'cancelled';
    return { jobId, outcome: { status, error: last?.error?.message, output: camelDeep(last?.output) } };
  } finally {
    context.signal.removeEventListener('abort', onInterrupt);
  }
}
