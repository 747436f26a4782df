import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import {
  parseOrThrow,
  type TrainingJobInput,
  type TrainingJobInputInput,
  TrainingJobInputSchema,
  type Tunekit,
  tunekitError,
} from '@tunekit/core';
import { parse as parseYaml } from 'yaml';
import { CliUsageError } from './cli-command.js';

/** A `tunekit train` configuration as read: the training job input, with file-friendly shorthands. */
export interface TrainConfigFile {
  /** The parsed object (after `--set` overrides). */
  config: Record<string, unknown>;
  /** Folder of the file: relative paths in it resolve against it. */
  directory: string;
}

/** Applies one `--set key.path=value` override; the value is read as YAML (`0.001`, `true`, `[a, b]`, text). */
export function applySetOverride(config: Record<string, unknown>, assignment: string): void {
  const equals = assignment.indexOf('=');
  if (equals <= 0) throw new CliUsageError(`--set expects key=value, got "${assignment}"`, 'train');
  const path = assignment.slice(0, equals).split('.');
  const value = parseYaml(assignment.slice(equals + 1)) as unknown;
  let target = config;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  target[path.at(-1) as string] = value;
}

/** Reads a YAML or JSON training configuration and applies the `--set` overrides. */
export async function readTrainConfig(file: string, overrides: string[] = []): Promise<TrainConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw tunekitError('NOT_FOUND', `Cannot read the training config ${file}: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    config = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `${file} is not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw tunekitError('VALIDATION_FAILED', `${file} must hold one object (the training job input)`);
  }
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const assignment of overrides) applySetOverride(copy, assignment);
  return { config: copy, directory: dirname(resolve(file)) };
}

const REGISTRY_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9._-]+$/;

/** Whether a `baseModel` value names a registry version (`name@stage`, `name@3`) rather than a folder. */
export function isRegistryReference(value: string, directory: string): boolean {
  return REGISTRY_REFERENCE.test(value) && !existsSync(resolve(directory, value));
}

/** `baseModel: { create: { architecture, …config } }`: a random model written once by `createModel`. */
function creationOf(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const create = (value as { create?: unknown }).create;
  const keys = Object.keys(value);
  if (keys.length !== 1 || typeof create !== 'object' || create === null) return undefined;
  return create as Record<string, unknown>;
}

/** The shorthands replaced by placeholders the schema accepts, to validate before anything is written. */
function withPlaceholders(config: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...config };
  if (creationOf(copy.baseModel)) copy.baseModel = 'created-model';
  for (const key of ['dataset', 'validation'] as const) {
    if (typeof copy[key] === 'string') copy[key] = { versionId: copy[key] };
  }
  return copy;
}

/** A dataset name from a file name (`data/notes.train.jsonl` → `notes-train`). */
function datasetNameOf(path: string): string {
  const stem = basename(path).replace(/\.[^.]+$/, '');
  return (
    stem
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 100) || 'dataset'
  );
}

/** Copies a registry version's adapter files out of the artifact store into a cache folder. */
async function downloadVersion(kit: Tunekit, uri: string, folder: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  for (const file of await kit.artifacts.list(`${uri.replace(/\/+$/, '')}/`)) {
    await writeFile(join(folder, basename(file.uri)), await kit.artifacts.get(file.uri));
  }
  return folder;
}

/**
 * Validates a configuration against `TrainingJobInputSchema` with its shorthands in place, before
 * anything is written; a coded `VALIDATION_FAILED` names the fields (unknown keys included).
 */
export function validateTrainConfig(file: TrainConfigFile): void {
  parseOrThrow(TrainingJobInputSchema, withPlaceholders(file.config), 'training config');
}

/**
 * Turns a configuration into the training job input of core's `TrainingJobInputSchema` (the same
 * schema `kit.jobs.submit('train', …)` and `POST /train` validate with). Shorthands a file may use:
 * - `dataset`/`validation` as a string: a JSON-lines/CSV/Parquet file (registered as a dataset
 *   version first) or a dataset version id;
 * - `baseModel` as `name@stage` or `name@<n>`: a registry version (its base model and adapter);
 * - `baseModel: { create: { architecture, …config } }`: a random model written once by `createModel`
 *   into the cache folder (examples that need no download);
 * - relative paths resolve against the configuration file's folder.
 * The configuration is validated before any dataset is registered; errors name the fields.
 */
export async function resolveTrainingInput(
  file: TrainConfigFile,
  kit: Tunekit,
  cacheDirectory: string,
): Promise<TrainingJobInput> {
  validateTrainConfig(file);
  const input = { ...file.config } as Record<string, unknown>;
  const local = (value: unknown) =>
    typeof value === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)
      ? resolve(file.directory, value)
      : value;
  for (const key of ['dataset', 'validation'] as const) {
    const value = input[key];
    if (typeof value !== 'string') continue;
    const path = resolve(file.directory, value);
    if (existsSync(path)) {
      const version = await kit.datasets.register({
        name: datasetNameOf(path),
        kind: 'training',
        source: { path },
      });
      input[key] = { versionId: version.id };
    } else {
      input[key] = { versionId: value };
    }
  }
  const creation = creationOf(input.baseModel);
  if (creation) {
    // Written once per distinct configuration, then reused (same seed, same weights).
    const digest = createHash('sha256').update(JSON.stringify(creation)).digest('hex').slice(0, 16);
    const folder = join(cacheDirectory, 'models', `created-${digest}`);
    if (!existsSync(join(folder, 'model.safetensors'))) {
      const { createModel } = await import('@tunekit/trainer');
      await createModel({ ...(creation as { architecture: string }), directory: folder });
    }
    input.baseModel = folder;
  }
  const baseModel = input.baseModel as string;
  if (creation) {
    // Already a local folder.
  } else if (isRegistryReference(baseModel, file.directory)) {
    const registry = (kit as Tunekit & { registry?: { require(reference: string): Promise<unknown> } })
      .registry;
    if (!registry) {
      throw tunekitError(
        'SERVICE_MISSING',
        `baseModel "${baseModel}" names a registry version, but the registry plugin is not loaded`,
      );
    }
    const version = (await registry.require(baseModel)) as {
      id: string;
      artifactUri: string;
      trainingJobId?: string;
    };
    const job = version.trainingJobId ? await kit.jobs.get(version.trainingJobId) : undefined;
    const trained = job?.input as { baseModel?: string; lora?: unknown; adapter?: string } | undefined;
    if (trained?.baseModel && (trained.lora !== undefined || trained.adapter !== undefined)) {
      // A LoRA version: its base model, and its adapter to continue from.
      input.baseModel = trained.baseModel;
      input.adapter ??= await downloadVersion(
        kit,
        version.artifactUri,
        join(cacheDirectory, 'adapters', version.id.replace(/[^A-Za-z0-9._-]/g, '_')),
      );
    } else {
      input.baseModel = version.artifactUri;
    }
  } else {
    input.baseModel = local(baseModel);
  }
  for (const key of ['tokenizer', 'adapter'] as const) {
    if (input[key] !== undefined) input[key] = local(input[key]);
  }
  return parseOrThrow(TrainingJobInputSchema, input as TrainingJobInputInput, 'training config');
}
