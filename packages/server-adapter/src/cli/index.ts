export {
  type CliCommand,
  type CliContext,
  type CliOutput,
  CliUsageError,
  ExitCode,
} from './cli-command.js';
export { COMMAND_TABLE } from './command-table.js';
export {
  DEFAULT_DATA_DIRECTORY,
  type RunningServe,
  type ServeConfig,
  ServeConfigSchema,
  serveCommand,
  startServe,
} from './commands/serve-command.js';
export {
  createFirstAdmin,
  ensureJwtSecret,
  FIRST_ADMIN_USERNAME,
  type FirstAdmin,
  generatePassword,
  JWT_SECRET_FILE,
  type StoredSecret,
} from './first-run-state.js';
export { packageVersion } from './package-version.js';
export { onePositional, parseCommandLine } from './parse-command-line.js';
export { runCli, runTunekit, topLevelUsage } from './tunekit.js';
