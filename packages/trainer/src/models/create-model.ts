import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { writeSafetensors } from '../safetensors/safetensors-file.js';
import { getArchitecture } from './architecture-registry.js';

/** Options of {@link createModel}: an architecture name, its config keys, a folder and a seed. */
export interface CreateModelOptions extends Record<string, unknown> {
  architecture: string;
  directory: string;
  seed?: number;
}

/**
 * Writes a randomly initialised model folder (`config.json` + `model.safetensors`) for an
 * architecture, e.g. `createModel({ architecture: 'gpt2', n_layer: 2, n_embd: 64, directory })`, so
 * tests, examples and users without downloads have a real model to train. Returns the parsed config.
 */
export async function createModel(options: CreateModelOptions): Promise<Record<string, unknown>> {
  const { architecture: name, directory, seed, ...rest } = options;
  const architecture = getArchitecture(name);
  const parsed = architecture.configSchema.safeParse({ model_type: name, ...rest });
  if (!parsed.success) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: `Invalid ${name} config: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      details: { issues: parsed.error.issues },
    });
  }
  await mkdir(directory, { recursive: true });
  const config = parsed.data as Record<string, unknown>;
  await writeFile(join(directory, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeSafetensors(
    join(directory, 'model.safetensors'),
    architecture.createRandomWeights(config, seed ?? 0),
  );
  return config;
}
