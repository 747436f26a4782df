import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createTunekit, parseOrThrow, type TunekitPlugin } from '@tunekit/core';
import { z } from 'zod';
import { type CreateServerOptions, createServer } from '../../server/create-server.js';
import { type AuditKeySource, resolveAuditKey } from '../audit-options.js';
import { type CliCommand, type CliContext, ExitCode } from '../cli-command.js';
import { createFirstAdmin, ensureJwtSecret, type FirstAdmin } from '../first-run-state.js';
import { cliLoggerOf, DEFAULT_DATA_DIRECTORY } from '../open-cli-kit.js';
import { packageVersion } from '../package-version.js';
import { parseCommandLine } from '../parse-command-line.js';
import { scaleOutOptionsFromEnvironment } from '../scale-out-options.js';

/** The `tunekit serve` configuration file (JSON): server options plus where the kit keeps its state. */
export const ServeConfigSchema = z
  .object({
    /** State (SQLite file, artifacts, JWT secret); default `./.tunekit`. */
    dataDirectory: z.string().min(1).default(DEFAULT_DATA_DIRECTORY),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(3000),
    prefix: z
      .string()
      .regex(/^\/[A-Za-z0-9/_-]*$/)
      .optional(),
    /** Load `@tunekit/trainer`'s plugin so `POST /train` trains (default true). */
    trainer: z.boolean().default(true),
    /** Load `@tunekit/registry`'s plugin so `/models` routes and the UI's Models page work (default true). */
    registry: z.boolean().default(true),
    server: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** The `tunekit serve` configuration. */
export type ServeConfig = z.infer<typeof ServeConfigSchema>;

const usage = `Usage: tunekit serve [--config tunekit.json] [--host 127.0.0.1] [--port 3000] [--data .tunekit]

Starts the Tunekit HTTP API and its web UI. State (SQLite, artifacts) persists in the data
directory (default ./.tunekit). On first run it generates a JWT secret (<data>/jwt-secret, mode
0600; TUNEKIT_JWT_SECRET overrides it) and, when no user exists, creates the user "admin" with a
one-time password printed once. TUNEKIT_SIGNING_SECRET (32+ characters) signs A/B exposure tokens
(default: derived from the JWT secret). The audit chain is keyed (HMAC) with <data>/audit-key,
generated on first run (mode 0600, outside the database); TUNEKIT_AUDIT_KEY (32+ characters)
overrides it. A model name without a version (e.g. "tone") serves the registry's
production version. SIGINT/SIGTERM shut down gracefully: in-flight requests finish, running jobs
stay recoverable.

Options:
  --config <file>   JSON configuration (dataDirectory, host, port, prefix, trainer, registry, server)
  --host <address>  interface to listen on (default 127.0.0.1)
  --port <port>     port (default 3000; 0 picks a free one)
  --data <folder>   data directory (default ./.tunekit)
  --log-level <l>   trace|debug|info|warn|error|silent (default info, or TUNEKIT_LOG_LEVEL): JSON
                    lines on stderr (pretty on a terminal), one per request with its latency
  -h, --help        this text`;

/** A running `tunekit serve`. */
export interface RunningServe {
  /** Base URL of the API (with the prefix). */
  url: string;
  /** The web UI's URL, when served. */
  uiUrl?: string;
  /** Absolute data directory. */
  dataDirectory: string;
  /** The admin created by this start (first run only). */
  firstAdmin?: FirstAdmin;
  /** Stops the server and closes the kit. */
  stop(): Promise<void>;
}

/** Starts `tunekit serve` from its arguments (after the word `serve`) and prints where it listens. */
export async function startServe(argv: string[], context: CliContext): Promise<RunningServe> {
  const { values } = parseCommandLine('serve', {
    args: argv,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const fileConfig = values.config
    ? (JSON.parse(await readFile(resolve(context.cwd, values.config), 'utf8')) as Record<string, unknown>)
    : {};
  const config = parseOrThrow(
    ServeConfigSchema,
    {
      ...fileConfig,
      ...(values.host ? { host: values.host } : {}),
      ...(values.port ? { port: Number(values.port) } : {}),
      ...(values.data ? { dataDirectory: values.data } : {}),
    },
    'tunekit serve configuration',
  );
  const dataDirectory = resolve(context.cwd, config.dataDirectory);
  const plugins: TunekitPlugin[] = [];
  if (config.trainer) plugins.push((await import('@tunekit/trainer')).trainerPlugin());
  if (config.registry) plugins.push((await import('@tunekit/registry')).registryPlugin());
  // pino on stderr: the kit's logs (jobs, datasets …), training steps at debug, one line per request.
  const logger = cliLoggerOf(context, values['log-level'], 'info');
  // The audit chain is keyed by default: TUNEKIT_AUDIT_KEY, else <data>/audit-key (generated once,
  // mode 0600, a file of its own outside the database).
  await mkdir(dataDirectory, { recursive: true });
  const auditKey = await resolveAuditKey(context.env, dataDirectory, { generate: true });
  // In a deployment (TUNEKIT_STORAGE_URL …) the API submits jobs that `tunekit worker` processes run.
  const scaleOut = scaleOutOptionsFromEnvironment(context.env, { work: false });
  const kit = await createTunekit({
    dataDirectory,
    plugins,
    logger,
    ...scaleOut,
    ...auditKey.options,
  });
  kit.events.on('training:step', (event) =>
    logger.debug(
      {
        jobId: event.jobId,
        step: event.step,
        loss: event.loss,
        learningRate: event.learningRate,
        tokensPerSecond: event.tokensPerSecond,
      },
      'training step',
    ),
  );
  const serverOptions = config.server as CreateServerOptions;
  const jwtSecret =
    context.env.TUNEKIT_JWT_SECRET ||
    serverOptions.auth?.jwtSecret ||
    (await ensureJwtSecret(dataDirectory)).secret;
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    server = await createServer(kit, {
      ...serverOptions,
      auth: { ...serverOptions.auth, jwtSecret },
      // Signs A/B exposure tokens (default: derived from the JWT secret).
      signingSecret: context.env.TUNEKIT_SIGNING_SECRET || serverOptions.signingSecret,
      prefix: config.prefix,
      closeKit: true,
    });
  } catch (error) {
    await kit.close();
    throw error;
  }
  server.app.addHook('onResponse', async (request, reply) => {
    logger.info(
      {
        requestId: request.id,
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });
  try {
    await server.context.ready;
    const firstAdmin = await createFirstAdmin(server.context.users);
    const url = await server.listen({ host: config.host, port: config.port });
    const uiUrl = serverOptions.ui === false ? undefined : `${url}/ui/`;
    const lines = [`Tunekit ${packageVersion()} listening on ${url} (state in ${dataDirectory})`];
    if (uiUrl) lines.push(`Web UI: ${uiUrl}`);
    lines.push(...auditKeyLines(auditKey, scaleOut.storage !== undefined));
    if (firstAdmin) {
      lines.push(
        '',
        'First run: created the admin user. Its password is shown only this once (stored as a hash):',
        `    username: ${firstAdmin.user.username}`,
        `    password: ${firstAdmin.password}`,
        'Log in with it, then change it (POST /users/me/password).',
        '',
      );
    }
    context.stdout.write(`${lines.join('\n')}\n`);
    return { url, uiUrl, dataDirectory, firstAdmin, stop: () => server.close() };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** What `tunekit serve` prints about the audit key: where it lives, and what workers need. */
function auditKeyLines(auditKey: AuditKeySource, sharedStorage: boolean): string[] {
  const lines =
    auditKey.source === 'environment'
      ? ['Audit chain keyed with TUNEKIT_AUDIT_KEY.']
      : [
          `Audit chain keyed with the key in ${auditKey.file}${auditKey.created ? ' (generated now, mode 0600)' : ''}; keep it outside backups of the database, TUNEKIT_AUDIT_KEY overrides it.`,
        ];
  if (sharedStorage && auditKey.source === 'file') {
    lines.push(
      `Run every tunekit worker with TUNEKIT_AUDIT_KEY set to the contents of ${auditKey.file}: events written without it break the keyed chain.`,
    );
  }
  return lines;
}

/** `tunekit serve`: runs the server until Ctrl-C (SIGINT) or SIGTERM. */
export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Start the HTTP API and web UI (state in ./.tunekit; first run creates an admin)',
  usage,
  async run(argv, context) {
    const running = await startServe(argv, context);
    await new Promise<void>((resolvePromise) => {
      if (context.signal.aborted) resolvePromise();
      context.signal.addEventListener('abort', () => resolvePromise(), { once: true });
    });
    context.stderr.write('Shutting down…\n');
    await running.stop();
    return ExitCode.success;
  },
};
