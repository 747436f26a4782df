import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTunekit, type Tunekit, type TunekitPlugin } from '@tunekit/core';
import { resolveAuditKey } from '../audit-options.js';
import { type CliCommand, type CliContext, CliUsageError, ExitCode } from '../cli-command.js';
import { cliLoggerOf, dataDirectoryOf } from '../open-cli-kit.js';
import { packageVersion } from '../package-version.js';
import { parseCommandLine } from '../parse-command-line.js';
import { SCALE_OUT_ENVIRONMENT, scaleOutOptionsFromEnvironment } from '../scale-out-options.js';

const usage = `Usage: tunekit worker [--concurrency 1] [--kinds train,evaluate] [--device cuda|cpu]
                      [--health-port 8081] [--health-host 127.0.0.1] [--data .tunekit]

Runs jobs and nothing else: takes jobs from the queue engine (BullMQ on Redis, pg-boss on
PostgreSQL) that API processes (\`tunekit serve\`) submitted, with job records in the shared store and
checkpoints in shared object storage, so any worker resumes any job. Configured by the environment:
${Object.entries(SCALE_OUT_ENVIRONMENT)
  .map(([name, meaning]) => `  ${name.padEnd(26)} ${meaning}`)
  .join('\n')}

SIGTERM/SIGINT shut down gracefully: no new job is taken, a running training stops at its next step
and checkpoints it, and its job goes back to the queue for another worker. A second signal exits at
once (the engine then recovers the job after TUNEKIT_LEASE_MS).

Health: GET /live (200 while the process runs), GET /ready (200 while it takes jobs, 503 while it
starts or shuts down), GET /health (JSON: status, engine, runnerId, how many jobs run and their ids).

Options:
  --concurrency <n>   jobs at once in this process (default 1)
  --kinds <list>      only these job kinds, comma-separated (default: every kind: train, evaluate …)
  --device <device>   cuda or cpu: the device every training of this worker uses
  --health-port <n>   port of the health endpoint (default 8081, TUNEKIT_HEALTH_PORT; 0 picks one)
  --health-host <a>   interface of the health endpoint (default 127.0.0.1; 0.0.0.0 in containers)
  --data <folder>     local state when nothing is shared (default ./.tunekit)
  --log-level <l>     trace, debug, info, warn, error or silent (default info)
  -h, --help          this text`;

/** A started `tunekit worker`. */
export interface RunningWorker {
  /** The worker's kit (its jobs take work from the engine). */
  kit: Tunekit;
  /** Base URL of the health endpoint. */
  healthUrl: string;
  /** Graceful shutdown: stop taking jobs, checkpoint and release running ones, close. */
  stop(): Promise<void>;
}

function parseFlags(argv: string[]) {
  const { values } = parseCommandLine('worker', {
    args: argv,
    options: {
      concurrency: { type: 'string' },
      kinds: { type: 'string' },
      device: { type: 'string' },
      'health-port': { type: 'string' },
      'health-host': { type: 'string' },
      data: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const concurrency = Number(values.concurrency ?? '1');
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new CliUsageError(
      `--concurrency must be a positive integer, got "${values.concurrency}"`,
      'worker',
    );
  }
  const kinds = values.kinds
    ?.split(',')
    .map((kind) => kind.trim())
    .filter((kind) => kind.length > 0);
  if (kinds !== undefined && kinds.length === 0)
    throw new CliUsageError('--kinds names no job kind', 'worker');
  if (values.device !== undefined && values.device !== 'cuda' && values.device !== 'cpu') {
    throw new CliUsageError(`--device must be cuda or cpu, got "${values.device}"`, 'worker');
  }
  return { values, concurrency, kinds, device: values.device as 'cuda' | 'cpu' | undefined };
}

/** Starts `tunekit worker` from its arguments (after the word `worker`); prints where its health endpoint listens. */
export async function startWorker(argv: string[], context: CliContext): Promise<RunningWorker> {
  const { values, concurrency, kinds, device } = parseFlags(argv);
  const healthPort = Number(values['health-port'] ?? context.env.TUNEKIT_HEALTH_PORT ?? '8081');
  if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65_535) {
    throw new CliUsageError(`--health-port must be a port number, got "${values['health-port']}"`, 'worker');
  }
  const logger = cliLoggerOf(context, values['log-level']);
  const plugins: TunekitPlugin[] = [
    (await import('@tunekit/trainer')).trainerPlugin(device === undefined ? {} : { device }),
    (await import('@tunekit/registry')).registryPlugin(),
  ];
  const shared = scaleOutOptionsFromEnvironment(context.env, {
    concurrency,
    ...(kinds === undefined ? {} : { kinds }),
  });
  let ready = false;
  const dataDirectory = shared.storage === undefined ? dataDirectoryOf(context, values.data) : undefined;
  // TUNEKIT_AUDIT_KEY, else (embedded store) the key `tunekit serve` stored in the data directory.
  const auditKey = await resolveAuditKey(context.env, dataDirectory, { generate: false });
  if (auditKey.source === 'none' && dataDirectory === undefined) {
    // Shared storage: `tunekit serve` keys the chain by default, so this worker's events would not link.
    logger.warn(
      'no audit key (TUNEKIT_AUDIT_KEY): audit events this worker writes are unkeyed, and a keyed chain reports them as a broken link',
    );
  }
  const kit = await createTunekit({
    ...(dataDirectory === undefined ? {} : { dataDirectory }),
    ...shared,
    ...auditKey.options,
    plugins,
    logger,
  });
  const engine = (kit.jobs as { engine?: string }).engine ?? 'in-process';
  const runningCount = () => (kit.jobs as { runningCount?: number }).runningCount ?? 0;
  const runningJobIds = () => (kit.jobs as { runningJobIds?: string[] }).runningJobIds ?? [];
  const health: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (path === '/live') reply(200, { status: 'ok' });
    else if (path === '/ready') reply(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
    else if (path === '/health') {
      reply(ready ? 200 : 503, {
        status: ready ? 'ok' : 'shutting down',
        version: packageVersion(),
        engine,
        runnerId: (kit.jobs as { runnerId?: string }).runnerId,
        concurrency,
        kinds: kinds ?? 'all',
        running: runningCount(),
        jobs: runningJobIds(),
      });
    } else reply(404, { status: 'not found' });
  });
  try {
    await new Promise<void>((resolveListen, reject) => {
      health.once('error', reject);
      health.listen(healthPort, values['health-host'] ?? '127.0.0.1', () => resolveListen());
    });
  } catch (error) {
    await kit.close();
    throw error;
  }
  const address = health.address() as AddressInfo;
  const healthUrl = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  ready = true;
  context.stdout.write(
    `Tunekit worker ${packageVersion()} taking ${kinds?.join(', ') ?? 'every'} job kind on ${engine} ` +
      `(concurrency ${concurrency}${device ? `, device ${device}` : ''}); health on ${healthUrl}\n`,
  );
  let stopping: Promise<void> | undefined;
  return {
    kit,
    healthUrl,
    stop() {
      stopping ??= (async () => {
        ready = false;
        try {
          await kit.close();
        } finally {
          await new Promise<void>((resolveClose) => health.close(() => resolveClose()));
        }
      })();
      return stopping;
    },
  };
}

/** `tunekit worker`: runs jobs until SIGTERM/SIGINT, then checkpoints and releases them. */
export const workerCommand: CliCommand = {
  name: 'worker',
  summary: 'Run jobs from the queue engine (BullMQ or pg-boss) with a health endpoint; no HTTP API',
  usage,
  async run(argv, context) {
    const worker = await startWorker(argv, context);
    await new Promise<void>((resolveSignal) => {
      if (context.signal.aborted) resolveSignal();
      context.signal.addEventListener('abort', () => resolveSignal(), { once: true });
    });
    context.stderr.write('Shutting down: checkpointing and releasing running jobs…\n');
    await worker.stop();
    return ExitCode.success;
  },
};
