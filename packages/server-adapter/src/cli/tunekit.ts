import { TunekitError } from '@tunekit/core';
import { type CliCommand, type CliContext, CliUsageError, ExitCode } from './cli-command.js';
import { COMMAND_TABLE } from './command-table.js';
import { packageVersion } from './package-version.js';

/** The text of `tunekit --help`. */
export function topLevelUsage(commands: readonly CliCommand[] = COMMAND_TABLE): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Usage: tunekit <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Options:',
    '  --version   print the version',
    '  -h, --help  this text; `tunekit <command> --help` describes a command',
  ].join('\n');
}

/** Writes an error the way the CLI reports it: `tunekit: CODE: message`, details as JSON. */
function reportError(error: unknown, context: CliContext): void {
  if (TunekitError.isInstance(error)) {
    const issues = (error.details as { issues?: unknown }).issues;
    context.stderr.write(`tunekit: ${error.code}: ${error.message}\n`);
    if (Array.isArray(issues) && !error.message.includes('\n')) {
      for (const issue of issues as { path?: unknown; message?: unknown }[]) {
        context.stderr.write(`  - ${String(issue.path ?? '')}: ${String(issue.message ?? '')}\n`);
      }
    }
    return;
  }
  context.stderr.write(
    `tunekit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
}

/**
 * Runs `tunekit` with its arguments (without `node` and the script path) and resolves with the exit
 * status: 0 done, 1 failed, 2 wrong command line, 130 cancelled by Ctrl-C.
 */
export async function runCli(
  argv: string[],
  context: CliContext,
  commands: readonly CliCommand[] = COMMAND_TABLE,
): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    context.stdout.write(`${packageVersion()}\n`);
    return ExitCode.success;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const named = first === 'help' ? commands.find((command) => command.name === rest[0]) : undefined;
    context.stdout.write(`${named ? named.usage : topLevelUsage(commands)}\n`);
    return first === undefined ? ExitCode.usage : ExitCode.success;
  }
  const command = commands.find((candidate) => candidate.name === first);
  if (!command) {
    context.stderr.write(
      `tunekit: unknown command "${first}". Commands: ${commands.map((known) => known.name).join(', ')}.\n` +
        'Run `tunekit --help` for usage.\n',
    );
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    context.stdout.write(`${command.usage}\n`);
    return ExitCode.success;
  }
  try {
    return await command.run(rest, context);
  } catch (error) {
    if (error instanceof CliUsageError) {
      context.stderr.write(
        `tunekit ${error.command ?? command.name}: ${error.message}\n` +
          `Run \`tunekit ${error.command ?? command.name} --help\` for usage.\n`,
      );
      return ExitCode.usage;
    }
    reportError(error, context);
    return ExitCode.failure;
  }
}

/**
 * The process entry of the `tunekit` bin: runs {@link runCli} on `process.argv`, with the first
 * SIGINT/SIGTERM aborting the command's signal (a second one exits at once with 130).
 */
export async function runTunekit(argv: string[] = process.argv.slice(2)): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(ExitCode.cancelled);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runCli(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      cwd: process.cwd(),
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
