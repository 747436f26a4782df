import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Tunekit } from '@tunekit/core';
import { createModelCache, type ModelCache } from '../inference/model-cache.js';
import type { CliContext } from './cli-command.js';
import { cliLoggerOf, openCliKit } from './open-cli-kit.js';

/** The `parseArgs` options every command that uses a model takes besides its own. */
export const MODEL_COMMAND_OPTIONS = {
  json: { type: 'boolean' },
  data: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The usage lines of {@link MODEL_COMMAND_OPTIONS} after `--json` (each command words its own). */
export const MODEL_COMMAND_OPTIONS_USAGE = `  --data <folder>      data directory (default ./.tunekit, or TUNEKIT_DATA)
  --log-level <level>  default warn (or TUNEKIT_LOG_LEVEL)
  -h, --help           this text`;

/**
 * Opens what `tunekit eval` and `tunekit generate` use: the kit on the data directory (with the
 * registry unless the model is a local folder) and a model cache that resolves `model` (a folder, a
 * registry reference such as `notes@production`, or `job:<id>`), runs `action`, then closes both.
 */
export async function withModelSession<T>(
  context: CliContext,
  model: string,
  options: { data?: string; logLevel?: string },
  action: (session: { kit: Tunekit; models: ModelCache }) => Promise<T>,
): Promise<T> {
  const folder = resolve(context.cwd, model);
  const local = existsSync(folder);
  const kit = await openCliKit(context, {
    data: options.data,
    plugins: local ? [] : ['registry'],
    logger: cliLoggerOf(context, options.logLevel, 'warn'),
  });
  const models = createModelCache(kit, local ? { [model]: { path: folder } } : {});
  try {
    return await action({ kit, models });
  } finally {
    await models.close();
    await kit.close();
  }
}
