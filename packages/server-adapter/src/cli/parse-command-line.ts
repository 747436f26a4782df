import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CliUsageError } from './cli-command.js';

/**
 * `node:util` parseArgs in strict mode, with its `ERR_PARSE_ARGS_*` errors turned into a
 * {@link CliUsageError} naming the command (so `tunekit` prints the hint and exits 2, not a stack).
 */
export function parseCommandLine<T extends ParseArgsConfig>(
  command: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ strict: true, ...config });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new CliUsageError((error as Error).message, command);
    }
    throw error;
  }
}

/** The one positional argument a command requires; a {@link CliUsageError} when missing or repeated. */
export function onePositional(command: string, positionals: string[], what: string): string {
  if (positionals.length === 0) throw new CliUsageError(`missing ${what}`, command);
  if (positionals.length > 1) {
    throw new CliUsageError(
      `expected one ${what}, got ${positionals.length}: ${positionals.join(' ')}`,
      command,
    );
  }
  return positionals[0] as string;
}
