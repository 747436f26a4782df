import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tunekitError } from '@tunekit/core';
import { z } from 'zod';
import { SafetensorsReader } from '../safetensors/safetensors-file.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { getArchitecture } from './architecture-registry.js';
import type { CheckpointLayout, CheckpointTensor } from './checkpoint-layout.js';
import type { LoadReport } from './load-report.js';
import type { ModelArchitecture } from './model-architecture.js';

/** A model folder in memory: its architecture, parsed config and weights (Hugging Face names). */
export interface LoadedModel<Config = Record<string, unknown>> {
  architecture: ModelArchitecture<Config>;
  config: Config;
  /** Weights under the builders' names (GPT-2: always with the `transformer.` prefix). */
  weights: TensorMap;
  /** How the folder's tensors were named and ordered; saving writes that layout back. */
  layout?: CheckpointLayout;
  /** Tensors the model lacked (initialised) and tensors it does not use (kept). */
  report?: LoadReport;
}

/** Options of {@link loadModel}. */
export const LoadModelOptionsSchema = z.object({
  /**
   * Refuse (`MODEL_KEYS_MISMATCH`) tensors the architecture does not know (default true). With
   * false they are reported in `unexpectedKeys`, passed to `onWarning`, kept and written back.
   */
  strict: z.boolean().default(true),
  /** Seed of the weights a checkpoint may lack (a new classification head). Default 0. */
  seed: z.number().int().default(0),
  /**
   * Leave F32 weights in the file until they are used (default true): each is a `fileBackedTensor`,
   * read on first access to its `data`, and a training graph built from it lets onnxruntime map the
   * checkpoint itself instead of a copy (measured on qwen2.5-0.5b: see docs/performance.md). With
   * false every weight is read into memory now. F16/BF16 weights are always read (converted).
   */
  lazy: z.boolean().default(true),
});

/** Options of {@link loadModel} as callers pass them. */
export type LoadModelOptions = z.input<typeof LoadModelOptionsSchema> & {
  /** Called with a message for each non-fatal finding (unused tensors, initialised head). */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
};

/** Storage types read as float32. */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
/** Buffers kept as read and written back: floats, and int64 (RoBERTa's `position_ids`). */
const KEPT_BUFFER_DTYPES = new Set([...FLOAT_DTYPES, 'I64']);

/** `model.safetensors.index.json`: which shard file holds each tensor. */
const ShardIndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string().min(1)),
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The safetensors files of a folder, in order: `model.safetensors`, or the shards that
 * `model.safetensors.index.json` names, sorted by name as transformers reads them
 * (`model-00001-of-0000N…` first). A folder with only PyTorch
 * pickles (`pytorch_model.bin`, sharded or not) is refused with `MODEL_WEIGHTS_UNSUPPORTED`.
 */
export async function findWeightFiles(directory: string): Promise<string[]> {
  if (await exists(join(directory, 'model.safetensors'))) return [join(directory, 'model.safetensors')];
  const indexPath = join(directory, 'model.safetensors.index.json');
  if (await exists(indexPath)) {
    let parsed: z.infer<typeof ShardIndexSchema>;
    try {
      parsed = ShardIndexSchema.parse(JSON.parse(await readFile(indexPath, 'utf8')));
    } catch (error) {
      throw tunekitError(
        'MODEL_INVALID',
        `Cannot read ${indexPath}: ${(error as Error).message}`,
        { directory },
        { cause: error },
      );
    }
    const files = [...new Set(Object.values(parsed.weight_map))].sort();
    for (const file of files) {
      if (file.includes('/') || file.includes('\\') || !(await exists(join(directory, file)))) {
        throw tunekitError(
          'MODEL_INVALID',
          `${indexPath} names the shard "${file}", which is not in the folder`,
          { directory, file },
        );
      }
    }
    return files.map((file) => join(directory, file));
  }
  for (const pickle of ['pytorch_model.bin', 'pytorch_model.bin.index.json']) {
    if (await exists(join(directory, pickle))) {
      throw tunekitError(
        'MODEL_WEIGHTS_UNSUPPORTED',
        `${directory} has PyTorch pickle weights (${pickle}) and no model.safetensors: convert them to safetensors first (e.g. transformers' save_pretrained(..., safe_serialization=True), or the Hub's convert-to-safetensors Space)`,
        { directory, file: pickle },
      );
    }
  }
  throw tunekitError(
    'MODEL_INVALID',
    `${join(directory, 'model.safetensors')} does not exist (nor model.safetensors.index.json)`,
    { directory },
  );
}

/**
 * Loads a Hugging Face model folder: `config.json` (parsed with the architecture's schema, chosen by
 * `model_type`) and `model.safetensors` or the shards of `model.safetensors.index.json` (F32/F16/BF16,
 * as float32, one shard open at a time; F32 weights stay in the file until used unless `lazy: false`). The architecture classifies each
 * tensor name (see `CheckpointTensorRole`): weights are stored under the builders' names, buffers and
 * unused heads are kept so that saving writes the layout that was read, tensors the model needs but
 * the file lacks are initialised where the architecture allows it (a classification head) and
 * reported in `missingKeys`. Throws `MODEL_INVALID` for missing or misshapen weights,
 * `MODEL_KEYS_MISMATCH` for unknown tensors (unless `strict: false`) and `MODEL_WEIGHTS_UNSUPPORTED`
 * for a folder with only `pytorch_model.bin`.
 */
export async function loadModel(directory: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { strict, seed, lazy } = LoadModelOptionsSchema.parse(options);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw tunekitError(
      'MODEL_INVALID',
      `Cannot read ${join(directory, 'config.json')}: ${(error as Error).message}`,
      { directory },
      { cause: error },
    );
  }
  const architecture = getArchitecture(String(raw.model_type ?? ''));
  const parsed = architecture.configSchema.safeParse(raw);
  if (!parsed.success) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Invalid config.json: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      { issues: parsed.error.issues },
    );
  }
  const config = parsed.data as Record<string, unknown>;
  const files = await findWeightFiles(directory);
  const weights: TensorMap = new Map();
  const layout: CheckpointLayout = { tensors: [], kept: new Map() };
  const unexpectedKeys: string[] = [];
  const unknown: string[] = [];
  for (const file of files) {
    const reader = await SafetensorsReader.open(file);
    try {
      for (const name of reader.names) {
        const role = architecture.checkpointTensorRole?.(config, name) ?? { kind: 'weight', name };
        const dtype = reader.header.entries.get(name)?.dtype ?? 'F32';
        // A buffer stored as booleans or bytes (a causal mask as BOOL/U8) is recomputed by the
        // graphs; it is not read, and not written back. int64 buffers (RoBERTa's position_ids) are
        // kept and written back as int64. A weight must be floating point.
        if (role.kind === 'buffer' && !KEPT_BUFFER_DTYPES.has(dtype)) continue;
        if (role.kind === 'weight' && !FLOAT_DTYPES.has(dtype)) {
          throw tunekitError('SAFETENSORS_INVALID', `${file}: unsupported dtype ${dtype} for "${name}"`, {
            name,
            dtype,
          });
        }
        const entry: CheckpointTensor = { name, role, dtype };
        layout.tensors.push(entry);
        if (role.kind === 'tied') continue;
        const tensor =
          role.kind === 'weight' && lazy ? await reader.readLazily(name) : await reader.read(name);
        if (role.kind === 'weight') weights.set(role.name, tensor);
        else layout.kept.set(name, tensor);
        if (role.kind === 'head' || role.kind === 'unexpected') unexpectedKeys.push(name);
        if (role.kind === 'unexpected') unknown.push(name);
      }
    } finally {
      await reader.close();
    }
  }
  if (unknown.length > 0) {
    const message = `${directory}: ${unknown.length} tensor(s) that a ${architecture.name} model does not have: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ' …' : ''}`;
    if (strict) {
      throw tunekitError(
        'MODEL_KEYS_MISMATCH',
        `${message} (pass strict: false to load anyway; they are kept and saved back)`,
        { directory, unexpectedKeys: unknown },
      );
    }
    options.onWarning?.(message, { directory, unexpectedKeys: unknown });
  }
  const missingKeys: string[] = [];
  const shapes = architecture.weightShapes?.(config);
  if (shapes) {
    for (const [name, shape] of shapes) {
      const tensor = weights.get(name);
      if (!tensor) missingKeys.push(name);
      else if (tensor.shape.join(',') !== shape.join(',')) {
        throw tunekitError(
          'MODEL_INVALID',
          `${architecture.name} weight "${name}" has shape [${tensor.shape}], expected [${shape}]`,
          { name, expected: shape, actual: tensor.shape },
        );
      }
    }
  }
  if (missingKeys.length > 0) {
    if (!architecture.initializeMissingWeights) {
      throw tunekitError(
        'MODEL_INVALID',
        `${architecture.name} weight "${missingKeys[0]}" is missing${missingKeys.length > 1 ? ` (and ${missingKeys.length - 1} more)` : ''}`,
        { missingKeys },
      );
    }
    const initialised = architecture.initializeMissingWeights(config, missingKeys, seed);
    // Insert in the builders' order so a newly initialised head sits where a saved one would.
    const ordered: TensorMap = new Map();
    for (const name of shapes?.keys() ?? []) {
      const tensor = weights.get(name) ?? initialised.get(name);
      if (tensor) ordered.set(name, tensor);
    }
    weights.clear();
    for (const [name, tensor] of ordered) weights.set(name, tensor);
    options.onWarning?.(`${directory}: initialised ${missingKeys.join(', ')} (not in the checkpoint)`, {
      directory,
      missingKeys,
    });
  }
  return {
    architecture,
    config,
    weights,
    layout,
    report: { missingKeys, unexpectedKeys },
  };
}
