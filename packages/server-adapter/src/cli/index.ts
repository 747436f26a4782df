/**
 * `@tunekit/server-adapter/cli`: The `tunekit` command: serve, worker, train, datasets, models and
 * users, as functions a host can embed.
 *
 * Guides: [cli](../../../../docs/cli.md).
 *
 * @module @tunekit/server-adapter/cli
 */
export {
  type CliCommand,
  type CliContext,
  type CliOutput,
  CliUsageError,
  ExitCode,
} from './cli-command.js';
export { type CliLoggerOptions, createCliLogger, type LogLevel, LogLevelSchema } from './cli-logger.js';
export { COMMAND_TABLE } from './command-table.js';
export {
  type RunningServe,
  type ServeConfig,
  ServeConfigSchema,
  serveCommand,
  startServe,
} from './commands/serve-command.js';
export { trainCommand } from './commands/train-command.js';
export { type RunningWorker, startWorker, workerCommand } from './commands/worker-command.js';
export {
  createFirstAdmin,
  ensureJwtSecret,
  FIRST_ADMIN_USERNAME,
  type FirstAdmin,
  generatePassword,
  JWT_SECRET_FILE,
  type StoredSecret,
} from './first-run-state.js';
export {
  type CliPlugin,
  cliLoggerOf,
  DEFAULT_DATA_DIRECTORY,
  dataDirectoryOf,
  logLevelOf,
  type OpenCliKitOptions,
  openCliKit,
} from './open-cli-kit.js';
export { packageVersion } from './package-version.js';
export { onePositional, parseCommandLine } from './parse-command-line.js';
export { SCALE_OUT_ENVIRONMENT, scaleOutOptionsFromEnvironment } from './scale-out-options.js';
export {
  applySetOverride,
  isRegistryReference,
  readTrainConfig,
  resolveTrainingInput,
  type TrainConfigFile,
  validateTrainConfig,
} from './train-config.js';
export {
  createProgressReporter,
  formatDuration,
  type ProgressMode,
  type ProgressReporter,
  type TrainingProgressEvent,
} from './training-progress.js';
export { runCli, runTunekit, topLevelUsage } from './tunekit.js';
