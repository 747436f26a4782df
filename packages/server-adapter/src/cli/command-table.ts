import type { CliCommand } from './cli-command.js';
import { datasetsCommand } from './commands/datasets-command.js';
import { evalCommand } from './commands/eval-command.js';
import { exportCommand } from './commands/export-command.js';
import { generateCommand } from './commands/generate-command.js';
import { modelsCommand } from './commands/models-command.js';
import { serveCommand } from './commands/serve-command.js';
import { trainCommand } from './commands/train-command.js';
import { usersCommand } from './commands/users-command.js';
import { workerCommand } from './commands/worker-command.js';

/**
 * Every `tunekit` command, in the order `tunekit --help` lists them. Adding a command is one file in
 * `commands/` exporting a {@link CliCommand} and one line here.
 */
export const COMMAND_TABLE: readonly CliCommand[] = [
  trainCommand,
  evalCommand,
  generateCommand,
  datasetsCommand,
  modelsCommand,
  exportCommand,
  usersCommand,
  serveCommand,
  workerCommand,
];
