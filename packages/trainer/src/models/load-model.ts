import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { readSafetensors } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { getArchitecture } from './architecture-registry.js';
import type { ModelArchitecture } from './model-architecture.js';

/** A model folder in memory: its architecture, parsed config and weights (Hugging Face names). */
export interface LoadedModel<Config = Record<string, unknown>> {
  architecture: ModelArchitecture<Config>;
  config: Config;
  weights: TensorMap;
}

/**
 * Loads a Hugging Face model folder: `config.json` (parsed with the architecture's schema, chosen by
 * `model_type`) and `model.safetensors` (F32/F16/BF16, read tensor by tensor into float32).
 */
export async function loadModel(directory: string): Promise<LoadedModel> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new TunekitError({
      code: 'MODEL_INVALID',
      status: 422,
      message: `Cannot read ${join(directory, 'config.json')}: ${(error as Error).message}`,
      details: { directory },
      cause: error,
    });
  }
  const architecture = getArchitecture(String(raw.model_type ?? ''));
  const parsed = architecture.configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: `Invalid config.json: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      details: { issues: parsed.error.issues },
    });
  }
  const weightsPath = join(directory, 'model.safetensors');
  try {
    await access(weightsPath);
  } catch {
    throw new TunekitError({
      code: 'MODEL_INVALID',
      status: 422,
      message: `${weightsPath} does not exist`,
      details: { directory },
    });
  }
  return {
    architecture,
    config: parsed.data as Record<string, unknown>,
    weights: await readSafetensors(weightsPath),
  };
}
