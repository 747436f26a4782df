import { resolve } from 'node:path';
import { createTunekit, type Logger, type Tunekit, type TunekitPlugin } from '@tunekit/core';
import { resolveAuditKey } from './audit-options.js';
import type { CliContext } from './cli-command.js';
import { CliUsageError } from './cli-command.js';
import { createCliLogger, type LogLevel, LogLevelSchema } from './cli-logger.js';

/** Where `tunekit` keeps its state when no data directory is given: `./.tunekit` (SQLite + artifacts). */
export const DEFAULT_DATA_DIRECTORY = '.tunekit';

/** The plugins a command needs. */
export type CliPlugin = 'trainer' | 'registry';

/** Options of {@link openCliKit}. */
export interface OpenCliKitOptions {
  /** `--data` (default `TUNEKIT_DATA`, else `./.tunekit`). */
  data?: string;
  plugins: CliPlugin[];
  logger: Logger;
  /**
   * Re-queue jobs that an earlier process left running (interrupted trainings). Only `tunekit train
   * --resume` and `serve` do; other commands leave them for those (default false).
   */
  recover?: boolean;
}

/** The data directory of a command: `--data`, `TUNEKIT_DATA`, else `./.tunekit`, absolute. */
export function dataDirectoryOf(context: CliContext, data?: string): string {
  return resolve(context.cwd, data ?? context.env.TUNEKIT_DATA ?? DEFAULT_DATA_DIRECTORY);
}

/** The log level of `--log-level`, else `TUNEKIT_LOG_LEVEL`, else `fallback`; a usage error when unknown. */
export function logLevelOf(context: CliContext, flag: string | undefined, fallback: LogLevel): LogLevel {
  const value = flag ?? context.env.TUNEKIT_LOG_LEVEL;
  if (value === undefined || value === '') return fallback;
  const parsed = LogLevelSchema.safeParse(value);
  if (!parsed.success) {
    throw new CliUsageError(`unknown log level "${value}" (one of ${LogLevelSchema.options.join(', ')})`);
  }
  return parsed.data;
}

/** The CLI's logger on stderr at the level of `--log-level`/`TUNEKIT_LOG_LEVEL`. */
export function cliLoggerOf(context: CliContext, flag: string | undefined, fallback: LogLevel = 'info') {
  return createCliLogger({ level: logLevelOf(context, flag, fallback), destination: context.stderr });
}

/** Opens the kit on the embedded store (SQLite and artifacts in the data directory) with the plugins a command needs. */
export async function openCliKit(context: CliContext, options: OpenCliKitOptions): Promise<Tunekit> {
  const plugins: TunekitPlugin[] = [];
  if (options.plugins.includes('trainer')) plugins.push((await import('@tunekit/trainer')).trainerPlugin());
  if (options.plugins.includes('registry'))
    plugins.push((await import('@tunekit/registry')).registryPlugin());
  const dataDirectory = dataDirectoryOf(context, options.data);
  // TUNEKIT_AUDIT_KEY, else the key `tunekit serve` stored in the data directory (never generated here).
  const auditKey = await resolveAuditKey(context.env, dataDirectory, { generate: false });
  return createTunekit({
    dataDirectory,
    plugins,
    logger: options.logger,
    jobs: { recover: options.recover ?? false },
    ...auditKey.options,
  });
}
