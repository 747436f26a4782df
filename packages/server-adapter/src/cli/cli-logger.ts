import type { Logger } from '@tunekit/core';
import { pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { z } from 'zod';
import type { CliOutput } from './cli-command.js';

/** Log levels of `--log-level` and `TUNEKIT_LOG_LEVEL`. */
export const LogLevelSchema = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** A log level. */
export type LogLevel = z.infer<typeof LogLevelSchema>;

/** Options of {@link createCliLogger}. */
export interface CliLoggerOptions {
  /** Level; default `info`. */
  level?: LogLevel;
  /** Where the lines go (the CLI uses stderr, so stdout stays for results). */
  destination: CliOutput;
}

/**
 * The CLI's pino logger: one JSON object per line (pino's format, with `time`, `level`, `msg` and
 * the fields of the call: job id, step, loss, tokens/s, latency), or pino-pretty's coloured lines
 * when the destination is a terminal.
 */
export function createCliLogger(options: CliLoggerOptions): Logger & { level: string } {
  const level = options.level ?? 'info';
  const { destination } = options;
  if (destination.isTTY) {
    // pino-pretty's formatter, applied synchronously: lines appear in order with the progress bar.
    const prettify = prettyFactory({ colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' });
    return pino({ level }, { write: (line: string) => destination.write(prettify(line)) });
  }
  return pino({ level }, { write: (line: string) => destination.write(line) });
}
