import { join, resolve } from 'node:path';
import { type Job, TRAINING_JOB_KIND, type Tunekit, tunekitError } from '@tunekit/core';
import { type CliCommand, type CliContext, CliUsageError, ExitCode } from '../cli-command.js';
import { cliLoggerOf, dataDirectoryOf, openCliKit } from '../open-cli-kit.js';
import { onePositional, parseCommandLine } from '../parse-command-line.js';
import { readTrainConfig, resolveTrainingInput, validateTrainConfig } from '../train-config.js';
import { trainRemotely } from '../train-remotely.js';
import {
  createProgressReporter,
  type ProgressMode,
  type ProgressReporter,
  type TrainingProgressEvent,
} from '../training-progress.js';

const usage = `Usage: tunekit train <config.yaml|config.json> [--set key=value]… [options]
       tunekit train --resume <job-id> [options]
       tunekit train <config.yaml|config.json> --server <url> [options]

Fine-tunes a model from one configuration file: the training job input that kit.jobs.submit('train')
and POST /train validate (same schema), e.g.

  baseModel: ./models/tiny-gpt2        # a model folder, or a registry version: notes-lora@production
  dataset: ./data/notes.jsonl          # a JSON-lines/CSV/Parquet file, or a dataset version id
  lora: { r: 8, alpha: 16 }            # omit for full fine-tuning; add dpo: { beta: 0.1 } for DPO
  hyperparameters: { maxSteps: 200, batchSize: 8, learningRate: 0.002, evalEvery: 50 }
  registerAs: { name: notes-lora }     # register the result in the model registry

It trains in this process on the embedded store (./.tunekit). On a terminal a progress bar shows
step/total, loss, learning rate, tokens/s, ETA and the last eval loss; otherwise one line per step.
Ctrl-C stops at the next step and keeps a checkpoint; \`tunekit train --resume <job-id>\` continues
(that job only).

With --server it submits the same file to a Tunekit server instead (typed client; dataset files
are uploaded, baseModel names a model the server serves) and follows the run over SSE with the same
bar, lines or --json; Ctrl-C stops the job on the server (its checkpoint stays) and
\`tunekit train --resume <job-id> --server <url>\` continues it there. Credentials come from
TUNEKIT_API_KEY, TUNEKIT_TOKEN, or TUNEKIT_USERNAME and TUNEKIT_PASSWORD.
Exit status: 0 done, 1 failed, 2 wrong command line, 130 interrupted.

Options:
  --set <key=value>    override a field (repeatable; dotted keys: --set hyperparameters.maxSteps=50)
  --resume <job-id>    continue an interrupted run from its last checkpoint
  --server <url>       train on a Tunekit server (e.g. http://127.0.0.1:3000) instead of here
  --json               one JSON object per event on stdout (no bar)
  --data <folder>      data directory (default ./.tunekit, or TUNEKIT_DATA)
  --log-level <level>  trace|debug|info|warn|error|silent (default: warn with the bar, else info;
                       or TUNEKIT_LOG_LEVEL). debug logs every step as a JSON line
  -h, --help           this text`;

/** How a run ended, mapped to the exit status. */
function exitCodeOf(status: Job['status'] | 'interrupted'): number {
  if (status === 'succeeded') return ExitCode.success;
  if (status === 'interrupted' || status === 'cancelled') return ExitCode.cancelled;
  return ExitCode.failure;
}

/** Forwards a job's events from the kit's bus to the reporter (and step lines to the debug log). */
function follow(kit: Tunekit, jobId: string, reporter: ProgressReporter, totalSteps?: number): () => void {
  let total = totalSteps;
  const unsubscribe = [
    kit.events.on('job:progress', (event) => {
      const step = event.metrics?.step;
      if (event.jobId === jobId && total === undefined && step && event.progress > 0) {
        total = Math.round(step / event.progress);
      }
    }),
    kit.events.on('training:step', (event) => {
      if (event.jobId !== jobId) return;
      kit.logger.debug(
        {
          jobId,
          step: event.step,
          loss: event.loss,
          learningRate: event.learningRate,
          tokensPerSecond: event.tokensPerSecond,
        },
        'training step',
      );
      reporter.report({
        type: 'step',
        jobId,
        step: event.step,
        totalSteps: total,
        epoch: event.epoch,
        loss: event.loss,
        learningRate: event.learningRate,
        tokensPerSecond: event.tokensPerSecond,
      });
    }),
    kit.events.on('training:evaluated', (event) => {
      if (event.jobId === jobId)
        reporter.report({ type: 'evaluated', jobId, step: event.step, metrics: event.metrics });
    }),
    kit.events.on('checkpoint:saved', (event) => {
      if (event.jobId === jobId)
        reporter.report({ type: 'checkpoint', jobId, step: event.step, uri: event.uri });
    }),
  ];
  return () => {
    for (const off of unsubscribe) off();
  };
}

/** Waits for the job's end, or for Ctrl-C (then `interrupted`). */
async function waitOrInterrupt(
  kit: Tunekit,
  jobId: string,
  signal: AbortSignal,
): Promise<Job | 'interrupted'> {
  if (signal.aborted) return 'interrupted';
  const controller = new AbortController();
  const interrupted = new Promise<'interrupted'>((resolve) =>
    signal.addEventListener('abort', () => resolve('interrupted'), { once: true }),
  );
  try {
    return await Promise.race([kit.jobs.wait(jobId, { signal: controller.signal }), interrupted]);
  } finally {
    controller.abort();
  }
}

function summary(jobId: string, jobOutput: unknown): string {
  const output = (jobOutput ?? {}) as Record<string, unknown>;
  const parts = [`job ${jobId} succeeded`];
  if (typeof output.steps === 'number') parts.push(`${output.steps} steps`);
  if (typeof output.finalLoss === 'number') parts.push(`final loss ${output.finalLoss.toFixed(4)}`);
  if (typeof output.bestValidationLoss === 'number') {
    parts.push(`best eval loss ${output.bestValidationLoss.toFixed(4)}`);
  }
  const lines = [parts.join(', ')];
  if (typeof output.output === 'string') lines.push(`output: ${output.output}`);
  const registered = output.registered as { id?: string } | string | undefined;
  const registeredId = typeof registered === 'string' ? registered : registered?.id;
  if (registeredId) lines.push(`registered: ${registeredId}`);
  return lines.join('\n');
}

/** Reports how a run ended (the summary lines on success, else a `finished` event); returns the exit status. */
function reportFinished(
  context: CliContext,
  reporter: ProgressReporter,
  mode: ProgressMode,
  finished: Extract<TrainingProgressEvent, { type: 'finished' }>,
): number {
  if (finished.status === 'succeeded' && mode !== 'json') {
    reporter.close();
    context.stdout.write(`${summary(finished.jobId, finished.output)}\n`);
  } else {
    reporter.report(finished);
    reporter.close();
  }
  return exitCodeOf(finished.status);
}

/** Runs `tunekit train --server URL`: the same file and the same output, on a remote server. */
async function trainOnServer(
  context: CliContext,
  options: { server: string; config?: string; sets: string[]; resume?: string; mode: ProgressMode },
): Promise<number> {
  const reporter = createProgressReporter(options.mode, context.stdout);
  try {
    const configPath = options.config ? resolve(context.cwd, options.config) : undefined;
    const file = configPath ? await readTrainConfig(configPath, options.sets) : undefined;
    const { jobId, outcome } = await trainRemotely(context, {
      server: options.server,
      file,
      configPath,
      resume: options.resume,
      reporter,
    });
    return reportFinished(context, reporter, options.mode, { type: 'finished', jobId, ...outcome });
  } finally {
    reporter.close();
  }
}

/** Runs `tunekit train` in this process on the embedded store. */
async function trainLocally(
  context: CliContext,
  options: {
    config?: string;
    sets: string[];
    resume?: string;
    data?: string;
    mode: ProgressMode;
    logLevel?: string;
  },
): Promise<number> {
  const logger = cliLoggerOf(context, options.logLevel, options.mode === 'bar' ? 'warn' : 'info');
  const reporter = createProgressReporter(options.mode, context.stdout);
  // Validate the file before opening the store, so a typo costs nothing.
  const file = options.config
    ? await readTrainConfig(resolve(context.cwd, options.config), options.sets)
    : undefined;
  if (file) validateTrainConfig(file);
  const kit = await openCliKit(context, {
    data: options.data,
    plugins: ['trainer', 'registry'],
    logger,
    recover: false,
  });
  let closed = false;
  try {
    let jobId: string;
    let totalSteps: number | undefined;
    if (options.resume) {
      const job = await kit.jobs.get(options.resume);
      if (!job || job.kind !== TRAINING_JOB_KIND) {
        throw tunekitError(
          'JOB_NOT_FOUND',
          `No training job ${options.resume} in ${dataDirectoryOf(context, options.data)}`,
        );
      }
      // Re-queues this job only (the kit opens with recovery off, so other interrupted jobs of the
      // store stay as they are); a cancelled or failed run resumes too, from its last checkpoint.
      await kit.jobs.resume(job.id);
      jobId = job.id;
      totalSteps = (job.input as { hyperparameters?: { maxSteps?: number } }).hyperparameters?.maxSteps;
    } else {
      const input = await resolveTrainingInput(
        file as NonNullable<typeof file>,
        kit,
        join(dataDirectoryOf(context, options.data), 'cache'),
      );
      const job = await kit.jobs.submit(TRAINING_JOB_KIND, input);
      jobId = job.id;
      totalSteps = input.hyperparameters.maxSteps;
    }
    logger.info({ jobId, resumed: options.resume !== undefined }, 'training job submitted');
    reporter.report({ type: 'submitted', jobId, resumed: options.resume !== undefined });
    const stopFollowing = follow(kit, jobId, reporter, totalSteps);
    const outcome = await waitOrInterrupt(kit, jobId, context.signal);
    let finished: Extract<TrainingProgressEvent, { type: 'finished' }>;
    if (outcome === 'interrupted') {
      // Closing the kit aborts the run: the trainer stops before its next step and saves a
      // checkpoint; the job stays resumable (running, its lease released) for --resume.
      // Still following: the checkpoint the trainer saves on the way out is reported.
      await kit.close();
      closed = true;
      stopFollowing();
      finished = { type: 'finished', jobId, status: 'interrupted' };
    } else {
      stopFollowing();
      finished = {
        type: 'finished',
        jobId,
        status: outcome.status as 'succeeded' | 'failed' | 'cancelled',
        error: outcome.error?.message,
        output: outcome.output,
      };
    }
    return reportFinished(context, reporter, options.mode, finished);
  } finally {
    reporter.close();
    if (!closed) await kit.close();
  }
}

/** `tunekit train`: fine-tunes from a configuration file, following progress; Ctrl-C interrupts resumably. */
export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'Fine-tune from a YAML/JSON config (LoRA, full or DPO) with a live progress bar',
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine('train', {
      args: argv,
      allowPositionals: true,
      options: {
        set: { type: 'string', multiple: true },
        resume: { type: 'string' },
        json: { type: 'boolean' },
        data: { type: 'string' },
        'log-level': { type: 'string' },
        server: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.resume !== undefined && positionals.length > 0) {
      throw new CliUsageError('give a config file or --resume <job-id>, not both', 'train');
    }
    const config =
      values.resume === undefined ? onePositional('train', positionals, 'config file') : undefined;
    const mode: ProgressMode = values.json ? 'json' : context.stdout.isTTY ? 'bar' : 'lines';
    if (values.server !== undefined) {
      if (values.data !== undefined)
        throw new CliUsageError('--data is for local runs, not --server', 'train');
      return trainOnServer(context, {
        server: values.server,
        config,
        sets: values.set ?? [],
        resume: values.resume,
        mode,
      });
    }
    return trainLocally(context, {
      config,
      sets: values.set ?? [],
      resume: values.resume,
      data: values.data,
      mode,
      logLevel: values['log-level'],
    });
  },
};
