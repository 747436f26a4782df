import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type TunekitError, tunekitError } from '@tunekit/core';
import type { Embedder } from './embedder.js';

/** Options of {@link createTransformersEmbedder}. */
export interface TransformersEmbedderOptions {
  /**
   * A local model folder in the transformers.js layout (`config.json`, `tokenizer.json`,
   * `onnx/model.onnx` or a quantized variant). Nothing is ever downloaded.
   */
  modelPath: string;
  /** Embedder name stored with the index (default `transformers:<folder name>`). */
  name?: string;
  /** Vector size (default: `hidden_size`, `dim` or `d_model` of `config.json`). */
  dimensions?: number;
  /** How token vectors become one vector (default `mean`). */
  pooling?: 'mean' | 'cls';
  /** ONNX weights variant (`fp32`, `q8` …) as transformers.js names them (default: its own default). */
  dtype?: string;
}

function unavailable(message: string, details: Record<string, unknown>, cause?: unknown): TunekitError {
  return tunekitError('EMBEDDER_UNAVAILABLE', message, details, { cause });
}

type FeatureExtractor = (
  texts: string[],
  options: { pooling: 'mean' | 'cls'; normalize: boolean },
) => Promise<{
  data: ArrayLike<number>;
  dims: number[];
}>;

/**
 * An embedder over a transformers.js feature-extraction model loaded from a local folder
 * (`@huggingface/transformers`, imported lazily on the first `embed`). Remote models are disabled
 * (`env.allowRemoteModels = false`, `local_files_only`), so a missing file fails instead of
 * downloading. Vectors are pooled and L2-normalized.
 *
 * The folder and its `config.json` are checked here; a missing folder rejects with
 * `EMBEDDER_UNAVAILABLE` before anything loads.
 *
 * Note: transformers.js keeps `env.localModelPath` process-wide; this embedder sets it to the model
 * folder's parent just before loading.
 *
 * @example
 * ```ts
 * const embedder = await createTransformersEmbedder({ modelPath: './models/all-MiniLM-L6-v2' });
 * const registry = registryPlugin({ embedder });
 * ```
 */
export async function createTransformersEmbedder(options: TransformersEmbedderOptions): Promise<Embedder> {
  const modelPath = resolve(options.modelPath);
  const folder = await stat(modelPath).catch(() => undefined);
  if (folder === undefined || !folder.isDirectory()) {
    throw unavailable(`The embedding model folder ${modelPath} does not exist`, { modelPath });
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(join(modelPath, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw unavailable(
      `The embedding model folder ${modelPath} has no readable config.json`,
      { modelPath },
      error,
    );
  }
  const dimensions =
    options.dimensions ??
    [config.hidden_size, config.dim, config.d_model, config.hidden_dim].find(
      (value): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0,
    );
  if (dimensions === undefined) {
    throw unavailable(
      `Cannot tell the vector size of ${modelPath}: config.json has no hidden_size, dim or d_model (pass dimensions)`,
      { modelPath },
    );
  }
  const pooling = options.pooling ?? 'mean';
  let extractor: Promise<FeatureExtractor> | undefined;
  const load = async (): Promise<FeatureExtractor> => {
    try {
      const transformers = await import('@huggingface/transformers');
      transformers.env.allowRemoteModels = false;
      transformers.env.allowLocalModels = true;
      transformers.env.localModelPath = `${dirname(modelPath)}/`;
      const pipe = await transformers.pipeline('feature-extraction', basename(modelPath), {
        local_files_only: true,
        ...(options.dtype === undefined ? {} : { dtype: options.dtype as never }),
      });
      return pipe as unknown as FeatureExtractor;
    } catch (error) {
      extractor = undefined;
      throw unavailable(
        `Loading the embedding model ${modelPath} failed: ${error instanceof Error ? error.message : String(error)}`,
        { modelPath },
        error,
      );
    }
  };
  return {
    name: options.name ?? `transformers:${basename(modelPath)}`,
    dimensions,
    async embed(texts: string[]) {
      if (texts.length === 0) return [];
      extractor ??= load();
      const run = await extractor;
      const output = await run(texts, { pooling, normalize: true });
      const width = output.dims.at(-1) ?? dimensions;
      if (width !== dimensions) {
        throw unavailable(
          `The embedding model ${modelPath} returned ${width} dimensions, expected ${dimensions}`,
          {
            modelPath,
            width,
            dimensions,
          },
        );
      }
      const data = Float32Array.from(output.data as ArrayLike<number>);
      return texts.map((_, row) => data.slice(row * dimensions, (row + 1) * dimensions));
    },
  };
}
