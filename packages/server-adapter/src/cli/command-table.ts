import type { CliCommand } from './cli-command.js';
import { serveCommand } from './commands/serve-command.js';
import { trainCommand } from './commands/train-command.js';
import { workerCommand } from './commands/worker-command.js';

/**
 * Every `tunekit` command, in the order `tunekit --help` lists them. Adding a command is one file in
 * `commands/` exporting a {@link CliCommand} and one line here.
 */
export const COMMAND_TABLE: readonly CliCommand[] = [trainCommand, serveCommand, workerCommand];
