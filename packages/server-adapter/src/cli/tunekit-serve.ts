#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTunekit, TunekitError, type TunekitPlugin } from '@tunekit/core';
import { z } from 'zod';
import { type CreateServerOptions, createServer } from '../server/create-server.js';

/** The `tunekit serve` configuration file (JSON): server options plus where the kit keeps its state. */
export const ServeConfigSchema = z
  .object({
    dataDirectory: z.string().min(1).optional(),
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

const usage = `Usage: tunekit serve [--config tunekit.json] [--host 127.0.0.1] [--port 3000] [--data ./tunekit-data]

Starts the Tunekit HTTP API (Fastify). The JWT secret may come from TUNEKIT_JWT_SECRET.
SIGINT/SIGTERM shut down gracefully: in-flight requests finish, running jobs stay recoverable.`;

/** Runs `tunekit serve` with command-line arguments; resolves with a function that stops the server. */
export async function runServe(argv: string[]): Promise<() => Promise<void>> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || (positionals[0] ?? 'serve') !== 'serve') {
    console.log(usage);
    return async () => undefined;
  }
  const fileConfig = values.config
    ? (JSON.parse(await readFile(values.config, 'utf8')) as Record<string, unknown>)
    : {};
  const parsed = ServeConfigSchema.safeParse({
    ...fileConfig,
    ...(values.host ? { host: values.host } : {}),
    ...(values.port ? { port: Number(values.port) } : {}),
    ...(values.data ? { dataDirectory: values.data } : {}),
  });
  if (!parsed.success)
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: z.prettifyError(parsed.error),
    });
  const config = parsed.data;
  const plugins: TunekitPlugin[] = [];
  if (config.trainer) plugins.push((await import('@tunekit/trainer')).trainerPlugin());
  if (config.registry) plugins.push((await import('@tunekit/registry')).registryPlugin());
  const kit = await createTunekit({ dataDirectory: config.dataDirectory, plugins });
  const serverOptions = config.server as CreateServerOptions;
  const jwtSecret = process.env.TUNEKIT_JWT_SECRET;
  const server = await createServer(kit, {
    ...serverOptions,
    auth: { ...serverOptions.auth, ...(jwtSecret ? { jwtSecret } : {}) },
    prefix: config.prefix,
    closeKit: true,
  });
  const url = await server.listen({ host: config.host, port: config.port });
  console.log(`tunekit listening on ${url}`);
  if (serverOptions.ui !== false) console.log(`web UI at ${url}/ui/`);
  return () => server.close();
}

/** Whether this module is the process entry (also through the `tunekit` bin symlink). */
function isEntry(): boolean {
  if (process.argv[1] === undefined) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

const invokedDirectly = isEntry();
if (invokedDirectly) {
  runServe(process.argv.slice(2)).then(
    (stop) => {
      const shutdown = () => {
        stop().then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(error);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (error: unknown) => {
      console.error(TunekitError.isInstance(error) ? `${error.code}: ${error.message}` : error);
      process.exit(1);
    },
  );
}
