import {
  type Job,
  JobSchema,
  JobStatusSchema,
  ModelNameSchema,
  type Principal,
  TRAINING_JOB_KIND,
  TrainingJobInputSchema,
  type Tunekit,
  tunekitError,
} from '@tunekit/core';
import {
  DEFAULT_LORA_MODULES_PER_LAYER,
  estimateTrainingMemory,
  readModelMemoryShape,
} from '@tunekit/trainer';
import { z } from 'zod';
import { assertModelAccess } from '../inference/assert-model-access.js';
import type { ServerLimits } from '../server/server-limits.js';
import { IdParamsSchema, PageQuerySchema, pageOf } from './common-schemas.js';
import { countActiveJobs } from './count-active-jobs.js';
import {
  defineRoute,
  eventStreamReply,
  type RouteContext,
  type ServerSentEvent,
} from './route-definition.js';

/**
 * `POST /train` body: a served base model, a dataset version and the run's settings. The settings
 * are core's training contract (`TrainingJobInputSchema`: LoRA, hyper-parameters, DPO, a 4-bit
 * base, dropout, device, threads, registration); only the model and data references differ, because a client names what
 * the server serves and never a path.
 */
export const TrainRequestSchema = z
  .object({
    /** Id of a model the server serves (its folder is never taken from the request). */
    base_model: z.string().min(1).max(200),
    /** Dataset version id to train on. */
    dataset_version_id: z.string().min(1).max(200),
    validation_dataset_version_id: z.string().min(1).max(200).optional(),
    /** Name of the output (letters, digits, `.`, `_`, `-`). */
    output_name: ModelNameSchema,
    lora: TrainingJobInputSchema.shape.lora,
    hyperparameters: TrainingJobInputSchema.shape.hyperparameters,
    /** Register the output in the model registry under this name when the job succeeds. */
    register_as: TrainingJobInputSchema.shape.registerAs,
    device: TrainingJobInputSchema.shape.device,
    threads: TrainingJobInputSchema.shape.threads,
    dpo: TrainingJobInputSchema.shape.dpo,
    /** A 4-bit quantized frozen base (QLoRA-style; needs `lora`). */
    quantization: TrainingJobInputSchema.shape.quantization,
    dropout: TrainingJobInputSchema.shape.dropout,
  })
  .strict();

/** `POST /train` body. */
export type TrainRequest = z.infer<typeof TrainRequestSchema>;

/** `POST /train` response. */
export const TrainAcceptedSchema = z.object({ job_id: z.string(), status: JobStatusSchema });

/** A job as the API shows it (input included; owner only to admins and the owner). */
export const JobViewSchema = JobSchema.pick({
  id: true,
  kind: true,
  status: true,
  owner: true,
  progress: true,
  progressMessage: true,
  metrics: true,
  attempt: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  error: true,
  output: true,
});

/** A job as the API shows it. */
export type JobView = z.infer<typeof JobViewSchema>;

function view(job: Job): JobView {
  const {
    id,
    kind,
    status,
    owner,
    progress,
    progressMessage,
    metrics,
    attempt,
    createdAt,
    startedAt,
    finishedAt,
    error,
    output,
  } = job;
  return {
    id,
    kind,
    status,
    owner,
    progress,
    progressMessage,
    metrics,
    attempt,
    createdAt,
    startedAt,
    finishedAt,
    error,
    output,
  };
}

/** Loads a job and checks the caller may act on it; a job the caller may not see is reported as missing. */
export async function ownedJob(
  kit: Tunekit,
  principal: Principal | undefined,
  id: string,
  action: 'jobs:read' | 'jobs:cancel',
) {
  const job = await kit.jobs.get(id);
  if (!job || job.kind !== TRAINING_JOB_KIND) {
    throw tunekitError('JOB_NOT_FOUND', `No training job "${id}"`);
  }
  if (!kit.policy.can(principal, action, { owner: job.owner, id })) {
    if (kit.policy.can(principal, 'jobs:read', { owner: job.owner, id }))
      kit.policy.assertCan(principal, action, { owner: job.owner, id });
    throw tunekitError('JOB_NOT_FOUND', `No training job "${id}"`);
  }
  return job;
}

/** `POST /train`: queues a fine-tuning job and returns its id (202). */
export const submitTrainingRoute = defineRoute({
  method: 'POST',
  path: '/train',
  operationId: 'submitTraining',
  summary: 'Queue a fine-tuning job; returns its id',
  tag: 'training',
  access: 'jobs:create',
  body: TrainRequestSchema,
  response: TrainAcceptedSchema,
  status: 202,
  handler: async ({ kit, server, principal, body }) => submitTrainingJob(kit, server, principal, body),
});

/**
 * Checks a `POST /train` body against the served models and the registered dataset versions, then
 * queues the `train` job owned by the caller. Shared by `POST /train` and `POST /rlhf`.
 */
export async function submitTrainingJob(
  kit: Tunekit,
  server: RouteContext<unknown, unknown, unknown>['server'],
  principal: Principal | undefined,
  body: TrainRequest,
): Promise<z.infer<typeof TrainAcceptedSchema>> {
  assertTrainingBounds(server.limits.training, body);
  const owner = principal?.id ?? 'anonymous';
  await assertJobQuota(kit, server, owner);
  // A `job:<id>` base the caller may not read is answered exactly like an unknown one: the
  // response must not tell whether someone else's job id exists.
  const readable = await assertModelAccess(kit, principal, body.base_model).then(
    () => true,
    () => false,
  );
  const base = readable ? await server.models.describe(body.base_model) : undefined;
  if (!base) {
    throw tunekitError('VALIDATION_FAILED', `Unknown base_model "${body.base_model}"`, {
      issues: [{ path: 'base_model', message: 'is not a model this server serves' }],
    });
  }
  const versionOf = async (id: string, path: string) => {
    const version = await kit.datasets.getVersion(id);
    if (!version) {
      throw tunekitError('VALIDATION_FAILED', `Unknown dataset version "${id}"`, {
        issues: [{ path, message: 'no such dataset version' }],
      });
    }
    return version;
  };
  const dataset = await versionOf(body.dataset_version_id, 'dataset_version_id');
  const validation = body.validation_dataset_version_id
    ? await versionOf(body.validation_dataset_version_id, 'validation_dataset_version_id')
    : undefined;
  await assertMemoryEstimate(server.limits.jobMemoryLimitMb, base.path, body);
  const job = await kit.jobs.submit(
    TRAINING_JOB_KIND,
    {
      baseModel: base.path,
      tokenizer: base.tokenizer,
      lora: body.lora,
      device: body.device,
      threads: body.threads,
      dataset: { versionId: dataset.id },
      validation: validation ? { versionId: validation.id } : undefined,
      hyperparameters: body.hyperparameters,
      dpo: body.dpo,
      quantization: body.quantization,
      dropout: body.dropout,
      outputName: body.output_name,
      ...(body.register_as
        ? { registerAs: { ...body.register_as, baseModel: base.baseModel ?? body.base_model } }
        : {}),
      // The trainer's watchdog fails the job with JOB_MEMORY_LIMIT past it.
      memoryLimitMb: server.limits.jobMemoryLimitMb,
    },
    // The job fails with JOB_TIMEOUT past limits.jobTimeLimitMs, whatever maxSteps says.
    { owner, timeoutMs: server.limits.jobTimeLimitMs },
  );
  return { job_id: job.id, status: job.status };
}

/**
 * Throws `JOB_MEMORY_LIMIT` (422) when the job's memory estimate (`estimateTrainingMemory`: model
 * weights + trainable parameters × 16 bytes + activations) exceeds `limits.jobMemoryLimitMb`.
 * A base model that is not a readable local folder with a `config.json` is not estimated (the
 * watchdog still bounds the job).
 */
async function assertMemoryEstimate(limitMb: number, modelFolder: string, body: TrainRequest): Promise<void> {
  const shape = await readModelMemoryShape(modelFolder);
  if (!shape) return;
  const targets = body.lora?.targetModules;
  const estimate = estimateTrainingMemory({
    modelBytes: shape.modelBytes,
    hiddenSize: shape.hiddenSize,
    layers: shape.layers,
    batchSize: body.hyperparameters.batchSize,
    sequenceLength: body.hyperparameters.maxLength ?? shape.maxPositions ?? 512,
    lora: body.lora
      ? {
          r: body.lora.r,
          modulesPerLayer:
            Array.isArray(targets) && targets.length > 0 ? targets.length : DEFAULT_LORA_MODULES_PER_LAYER,
        }
      : undefined,
  });
  const estimateMb = estimate.totalBytes / (1024 * 1024);
  if (estimateMb > limitMb) {
    throw tunekitError(
      'JOB_MEMORY_LIMIT',
      `The training job is estimated to need ${estimateMb.toFixed(1)} MiB, more than the server's per-job memory limit of ${limitMb} MiB: lower batch_size, max_length or lora.r, or use a smaller model`,
      {
        limitMb,
        estimateMb: Math.round(estimateMb * 10) / 10,
        modelBytes: estimate.modelBytes,
        trainableParameters: estimate.trainableParameters,
        activationBytes: estimate.activationBytes,
      },
    );
  }
}

/** Throws `VALIDATION_FAILED` (400) when a training request asks for more than `limits.training` allows. */
function assertTrainingBounds(limits: ServerLimits['training'], body: TrainRequest): void {
  // Paths in the wire's casing: this is what the HTTP caller sent.
  const checks: Array<[string, number | undefined, number]> = [
    ['hyperparameters.max_steps', body.hyperparameters.maxSteps, limits.maxSteps],
    ['hyperparameters.epochs', body.hyperparameters.epochs, limits.maxEpochs],
    ['hyperparameters.batch_size', body.hyperparameters.batchSize, limits.maxBatchSize],
    ['hyperparameters.max_length', body.hyperparameters.maxLength, limits.maxSequenceLength],
    ['lora.r', body.lora?.r, limits.maxLoraRank],
  ];
  const issues = checks
    .filter(([, value, limit]) => value !== undefined && value > limit)
    .map(([path, , limit]) => ({ path, message: `must be at most ${limit} (server limit)` }));
  if (issues.length > 0) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `The training request exceeds the server's limits: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`,
      { issues },
    );
  }
}

/** Throws `RATE_LIMITED` (429, Retry-After) when the owner or the server has its maximum of queued and running jobs. */
async function assertJobQuota(
  kit: Tunekit,
  server: RouteContext<unknown, unknown, unknown>['server'],
  owner: string,
): Promise<void> {
  const { perUser, total } = server.limits.activeJobs;
  const mine = await countActiveJobs(kit.jobs, { kind: TRAINING_JOB_KIND, owner, stopAt: perUser });
  const all =
    mine >= perUser ? 0 : await countActiveJobs(kit.jobs, { kind: TRAINING_JOB_KIND, stopAt: total });
  if (mine < perUser && all < total) return;
  const scope = mine >= perUser ? 'user' : 'server';
  throw tunekitError(
    'RATE_LIMITED',
    scope === 'user'
      ? `At most ${perUser} training jobs queued or running per user; wait for one to finish or stop one`
      : `The server has its maximum of ${total} training jobs queued or running; retry later`,
    { retryAfterSeconds: 30, limit: scope === 'user' ? perUser : total, scope },
  );
}

/** `GET /train`: the caller's training jobs (admins: everyone's). */
export const listTrainingRoute = defineRoute({
  method: 'GET',
  path: '/train',
  operationId: 'listTraining',
  summary: 'List training jobs (own jobs; admins see all)',
  tag: 'training',
  access: 'jobs:read',
  query: PageQuerySchema.extend({ status: JobStatusSchema.optional() }),
  response: pageOf(JobViewSchema),
  handler: async ({ kit, principal, query }) => {
    const scope = kit.policy.scope(principal, 'jobs:read');
    const page = await kit.jobs.list({
      kind: TRAINING_JOB_KIND,
      status: query.status,
      owner: scope === 'any' ? undefined : (principal?.id ?? ''),
      limit: query.limit,
      cursor: query.cursor,
    });
    return { items: page.items.map(view), nextCursor: page.nextCursor };
  },
});

/** `GET /train/{id}`: status, progress and metrics of a job (its owner or an admin). */
export const getTrainingRoute = defineRoute({
  method: 'GET',
  path: '/train/{id}',
  operationId: 'getTraining',
  summary: 'Status, progress and metrics of a training job',
  tag: 'training',
  access: 'jobs:read',
  params: IdParamsSchema,
  response: JobViewSchema,
  handler: async ({ kit, principal, params }) => view(await ownedJob(kit, principal, params.id, 'jobs:read')),
});

/** `GET /task/{id}`: another name for `GET /train/{id}`, kept for clients that poll tasks. */
export const getTaskRoute = defineRoute({
  ...getTrainingRoute,
  path: '/task/{id}',
  operationId: 'getTask',
  summary: 'Alias of GET /train/{id}',
});

/** `POST /train/{id}/stop`: cancels a queued or running job (its last checkpoint stays). */
export const stopTrainingRoute = defineRoute({
  method: 'POST',
  path: '/train/{id}/stop',
  operationId: 'stopTraining',
  summary: 'Cancel a training job',
  tag: 'training',
  access: 'jobs:cancel',
  params: IdParamsSchema,
  response: JobViewSchema,
  handler: async ({ kit, principal, params }) => {
    await ownedJob(kit, principal, params.id, 'jobs:cancel');
    return view(await kit.jobs.cancel(params.id, `stopped by ${principal?.id ?? 'anonymous'}`));
  },
});

/**
 * `POST /train/{id}/resume`: re-queues an interrupted run (stopped, failed, or left running by a
 * process that stopped) so that it continues from its last checkpoint; only this job.
 */
export const resumeTrainingRoute = defineRoute({
  method: 'POST',
  path: '/train/{id}/resume',
  operationId: 'resumeTraining',
  summary: 'Resume an interrupted training job from its last checkpoint',
  tag: 'training',
  access: 'jobs:cancel',
  params: IdParamsSchema,
  response: JobViewSchema,
  handler: async ({ kit, principal, params }) => {
    await ownedJob(kit, principal, params.id, 'jobs:cancel');
    return view(await kit.jobs.resume(params.id));
  },
});

const finalStatuses = new Set(['succeeded', 'failed', 'cancelled']);

/** What a polled job must change for its stream to get a new `status` event. */
const statusSnapshot = (job: Job): string =>
  JSON.stringify([job.status, job.progress, job.attempt, job.progressMessage]);

/** How often a job stream re-reads the job when no event of it arrived (jobs run by another process). */
const JOB_STREAM_POLL_MS = 1000;

/**
 * Events of one job as SSE: a `status` snapshot, then `progress`, `step`, `checkpoint` … until a
 * final status. Events are local to the process that runs a job; when several server processes
 * share the kit's storage, a stream opened on another process gets a `status` event from the
 * stored job whenever it changes (read every second while no event of the job arrives), and ends
 * on its final status.
 */
async function* jobEvents(kit: Tunekit, jobId: string, signal: AbortSignal): AsyncGenerator<ServerSentEvent> {
  const queue: ServerSentEvent[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let lastEventAt = Date.now();
  const push = (event: ServerSentEvent, final = false) => {
    queue.push(event);
    lastEventAt = Date.now();
    if (final) finished = true;
    wake?.();
  };
  let lastSnapshot = '';
  const poll = setInterval(() => {
    if (finished || Date.now() - lastEventAt < JOB_STREAM_POLL_MS) return;
    void kit.jobs.get(jobId).then(
      (job) => {
        if (!job || finished) return;
        const snapshot = statusSnapshot(job);
        if (snapshot === lastSnapshot) return;
        lastSnapshot = snapshot;
        const final = finalStatuses.has(job.status);
        queue.push({ event: 'status', data: view(job) });
        if (final) finished = true;
        wake?.();
      },
      () => undefined,
    );
  }, JOB_STREAM_POLL_MS);
  const mine = (payload: { jobId?: string }) => payload.jobId === jobId;
  const stops = [
    kit.events.on('job:started', (payload) => mine(payload) && push({ event: 'started', data: payload })),
    kit.events.on('job:progress', (payload) => mine(payload) && push({ event: 'progress', data: payload })),
    kit.events.on('training:step', (payload) => mine(payload) && push({ event: 'step', data: payload })),
    kit.events.on(
      'training:evaluated',
      (payload) => mine(payload) && push({ event: 'evaluated', data: payload }),
    ),
    kit.events.on(
      'checkpoint:saved',
      (payload) => mine(payload) && push({ event: 'checkpoint', data: payload }),
    ),
    kit.events.on('job:retrying', (payload) => mine(payload) && push({ event: 'retrying', data: payload })),
    kit.events.on(
      'job:succeeded',
      (payload) => mine(payload) && push({ event: 'succeeded', data: payload }, true),
    ),
    kit.events.on('job:failed', (payload) => mine(payload) && push({ event: 'failed', data: payload }, true)),
    kit.events.on(
      'job:cancelled',
      (payload) => mine(payload) && push({ event: 'cancelled', data: payload }, true),
    ),
  ];
  const onAbort = () => {
    finished = true;
    wake?.();
  };
  signal.addEventListener('abort', onAbort);
  try {
    // Subscribed first, then the snapshot: no event falls between the two.
    const job = await kit.jobs.get(jobId);
    if (job) {
      lastSnapshot = statusSnapshot(job);
      yield { event: 'status', data: view(job) };
      if (finalStatuses.has(job.status)) return;
    }
    while (true) {
      while (queue.length > 0) yield queue.shift() as ServerSentEvent;
      if (finished || signal.aborted) {
        if (!signal.aborted) {
          const final = await kit.jobs.get(jobId);
          if (final) yield { event: 'status', data: view(final) };
        }
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    clearInterval(poll);
    signal.removeEventListener('abort', onAbort);
    for (const stop of stops) stop();
  }
}

/** `GET /train/{id}/events`: Server-Sent Events of the job's progress until it ends. */
export const trainingEventsRoute = defineRoute({
  method: 'GET',
  path: '/train/{id}/events',
  operationId: 'streamTrainingEvents',
  summary:
    'Server-Sent Events of a training job (status, progress, step, evaluated, checkpoint, final status)',
  tag: 'training',
  access: 'jobs:read',
  params: IdParamsSchema,
  response: z.string(),
  responseContentType: 'text/event-stream',
  handler: async ({ kit, principal, params, signal }) => {
    await ownedJob(kit, principal, params.id, 'jobs:read');
    return eventStreamReply(jobEvents(kit, params.id, signal));
  },
});

/** `GET /train/{id}/checkpoints`: checkpoints the job left in the artifact store. */
export const listCheckpointsRoute = defineRoute({
  method: 'GET',
  path: '/train/{id}/checkpoints',
  operationId: 'listCheckpoints',
  summary: 'Checkpoints of a training job',
  tag: 'training',
  access: 'jobs:read',
  params: IdParamsSchema,
  response: z.object({
    items: z.array(
      z.object({ name: z.string(), uri: z.string(), files: z.number().int(), bytes: z.number() }),
    ),
  }),
  handler: async ({ kit, principal, params }) => {
    const job = await ownedJob(kit, principal, params.id, 'jobs:read');
    const prefix = `artifact://jobs/${job.id}/checkpoints/`;
    const checkpoints = new Map<string, { name: string; uri: string; files: number; bytes: number }>();
    for (const file of await kit.artifacts.list(prefix)) {
      const name = file.uri.slice(prefix.length).split('/')[0] as string;
      const entry = checkpoints.get(name) ?? { name, uri: `${prefix}${name}`, files: 0, bytes: 0 };
      entry.files += 1;
      entry.bytes += file.size;
      checkpoints.set(name, entry);
    }
    return { items: [...checkpoints.values()].sort((a, b) => a.name.localeCompare(b.name)) };
  },
});

/** `GET /experiments`: every training run with its metrics (admin). */
export const listExperimentsRoute = defineRoute({
  method: 'GET',
  path: '/experiments',
  operationId: 'listExperiments',
  summary: 'Every training run with metrics (admin)',
  tag: 'training',
  access: 'experiments:read',
  query: PageQuerySchema.extend({ status: JobStatusSchema.optional() }),
  response: pageOf(JobViewSchema),
  handler: async ({ kit, query }) => {
    const page = await kit.jobs.list({
      kind: TRAINING_JOB_KIND,
      status: query.status,
      limit: query.limit,
      cursor: query.cursor,
    });
    return { items: page.items.map(view), nextCursor: page.nextCursor };
  },
});

/** Training routes. */
export const trainingRoutes = [
  submitTrainingRoute,
  listTrainingRoute,
  getTrainingRoute,
  getTaskRoute,
  stopTrainingRoute,
  resumeTrainingRoute,
  trainingEventsRoute,
  listCheckpointsRoute,
  listExperimentsRoute,
];
