import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Predictor,
  TrainingJobInputSchema,
  type Tunekit,
  type TunekitError,
  tunekitError,
} from '@tunekit/core';
import type {
  ChatMessage,
  ClassificationPrediction,
  GenerationChunk,
  GenerationOptionsInput,
  GenerationResult,
  OpenedModel,
  PredictOptions,
} from '@tunekit/trainer';
import { z } from 'zod';

/** A model the server can load: a local folder (offline, from a path), optionally with a PEFT adapter. */
export const ServedModelSchema = z
  .object({
    /** Model folder (`config.json` + `model.safetensors`). */
    path: z.string().min(1),
    /** PEFT adapter folder or `artifact://` prefix. */
    adapter: z.string().min(1).optional(),
    /** Tokenizer folder (default: the model folder's). */
    tokenizer: z.string().min(1).optional(),
    baseModel: z.string().optional(),
    language: z.string().optional(),
    task: z.string().default('text-generation'),
    /** Intra-op threads of the inference session. */
    threads: z.number().int().positive().optional(),
    device: z.enum(['cpu', 'cuda', 'auto']).default('cpu'),
  })
  .strict();

/** A served model's description. */
export type ServedModel = z.infer<typeof ServedModelSchema>;
/** A served model as callers write it. */
export type ServedModelInput = z.input<typeof ServedModelSchema>;

/** A loaded generative model (opened with `openModel`): generation and log-probabilities. */
export interface LoadedModel {
  readonly id: string;
  readonly source: ServedModel;
  readonly device: string;
  readonly loadedAt: string;
  generate(prompt: string, options?: GenerationOptionsInput): Promise<GenerationResult>;
  stream(prompt: string, options?: GenerationOptionsInput): AsyncGenerator<GenerationChunk>;
  /** Natural-log probability of each token after the first given its prefix (see `openModel`). */
  logProbabilities(tokenIds: readonly number[]): Promise<number[]>;
  /** Tokens of a text under the model's tokenizer (no special tokens added): usage accounting. */
  countTokens(text: string): number;
  /**
   * The generation prompt of chat messages: the tokenizer's Jinja chat template when it has one,
   * else the trainer's plain `### Role:` template (what `{ messages }` rows train on).
   */
  chatPrompt(messages: ChatMessage[]): string;
}

/** A loaded sequence classifier (BERT family) for `POST /predict`. */
export interface LoadedClassifier {
  readonly id: string;
  readonly source: ServedModel;
  readonly device: string;
  readonly loadedAt: string;
  /** Label names by class id. */
  readonly labels: string[];
  /** Classifies one text: label, probability and latency, plus the label id and top-k scores. */
  predict(text: string, options?: PredictOptions): Promise<ClassificationPrediction>;
}

/** Models loaded lazily on first use and cached by id. */
export interface ModelCache {
  /**
   * Loads (once) and returns a generative model; `NOT_FOUND` for an unknown id, `MODEL_TASK_MISMATCH`
   * for a sequence classifier.
   */
  load(id: string): Promise<LoadedModel>;
  /**
   * Loads (once) and returns a BERT-family sequence classifier; `NOT_FOUND` for an unknown id,
   * `MODEL_TASK_MISMATCH` for a generative model.
   */
  loadClassifier(id: string): Promise<LoadedClassifier>;
  /** The description of a model id without loading it (undefined when unknown). */
  describe(id: string): Promise<ServedModel | undefined>;
  /** Ids of the configured models. */
  configured(): string[];
  /** Ids of the models (generative and classifiers) loaded now. */
  loaded(): string[];
  /** A predictor over a model for `kit.evaluators` (text generation, greedy). */
  predictor(id: string, options?: GenerationOptionsInput): Predictor;
  /** Releases every session. */
  close(): Promise<void>;
}

/** The fields of a registry model version the cache reads. */
interface RegistryVersion {
  artifactUri: string;
  trainingJobId?: string;
  language?: string[];
  task?: string;
}

/** Prefix of model ids that name the output of a finished training job (`job:<jobId>`). */
export const JOB_MODEL_PREFIX = 'job:';

/**
 * `NOT_FOUND` for an id that names no served model, saying what would: the configured ids, `job:<id>`
 * and registry versions. A bare name means its production version, so for a name whose versions are
 * all drafts (a fresh `registerAs`) it lists the versions to name or promote.
 */
export async function modelNotServed(kit: Tunekit, id: string, configured: string[]): Promise<TunekitError> {
  const registry = kit.has({ id: 'registry' })
    ? kit.get<{ versions(name: string): Promise<Array<{ id: string; stage: string }>> }>({ id: 'registry' })
    : undefined;
  let hint = '';
  if (registry !== undefined && !id.startsWith(JOB_MODEL_PREFIX)) {
    const name = id.split('@')[0] ?? id;
    const versions = await registry.versions(name).catch(() => []);
    if (versions.length > 0) {
      const listed = versions.map((version) => `${version.id} (${version.stage})`).join(', ');
      hint = id.includes('@')
        ? `: ${name} has ${listed}`
        : `: a bare name is served as its production version, and ${name} has none (${listed}); name a version ("${versions.at(-1)?.id}") or promote one to production (tunekit models promote, or POST /models/{id}/transition)`;
    }
  }
  if (hint === '') {
    hint = `: served are ${configured.length > 0 ? `${configured.join(', ')}, ` : ''}the outputs of finished train jobs (job:<id>) and the registry versions they registered (name@<n>, name@stage, or a bare name for its production version)`;
  }
  return tunekitError('NOT_FOUND', `No model "${id}" is served${hint}`);
}

/** Creates the model cache over configured models and `job:<id>` outputs of finished `train` jobs. */
export function createModelCache(
  kit: Tunekit,
  configured: Record<string, ServedModelInput> = {},
): ModelCache {
  const sources = new Map(
    Object.entries(configured).map(([id, source]) => [id, ServedModelSchema.parse(source)]),
  );
  const loading = new Map<string, Promise<{ model: LoadedModel; opened: OpenedModel }>>();
  const classifying = new Map<string, Promise<{ model: LoadedClassifier; opened: OpenedModel }>>();

  /** Opens a served model with the trainer's one inference entry (`openModel`). */
  const open = async (source: ServedModel): Promise<OpenedModel> => {
    const { openModel } = await import('@tunekit/trainer');
    return openModel(source.path, {
      kit,
      adapter: source.adapter,
      tokenizer: source.tokenizer,
      device: source.device,
      threads: source.threads,
    });
  };

  const describe = async (id: string): Promise<ServedModel | undefined> => {
    const known = sources.get(id);
    if (known) return known;
    if (id.startsWith(JOB_MODEL_PREFIX)) return fromJob(id.slice(JOB_MODEL_PREFIX.length));
    // A registry version (id, `name@stage` or a bare name) trained by a job of this kit: base model of the job + the version's adapter.
    const registry = kit.has({ id: 'registry' })
      ? kit.get<{ get(reference: string): Promise<RegistryVersion | undefined> }>({ id: 'registry' })
      : undefined;
    // A bare model name (`tone`) means its production version (`tone@production`).
    const reference = id.includes('@') ? id : `${id}@production`;
    const version = registry ? await registry.get(reference).catch(() => undefined) : undefined;
    if (!version?.trainingJobId) return undefined;
    const base = await fromJob(version.trainingJobId);
    return (
      base &&
      ServedModelSchema.parse({
        ...base,
        // A LoRA version is the job's base model plus the version's adapter; a full one is its own folder.
        ...(base.adapter === undefined ? { path: version.artifactUri } : { adapter: version.artifactUri }),
        language: version.language?.[0],
        task: version.task ?? base.task,
      })
    );
  };

  const fromJob = async (jobId: string): Promise<ServedModel | undefined> => {
    const job = await kit.jobs.get(jobId);
    const output = job?.output as { output?: string } | undefined;
    const parsed = TrainingJobInputSchema.safeParse(job?.input);
    if (job?.status !== 'succeeded' || !parsed.success || !output?.output) return undefined;
    const input = parsed.data;
    // The served id of the base model the job trained on (the job stores its folder).
    const served = [...sources].find(([, source]) => source.path === input.baseModel);
    const servedBase = served === undefined ? undefined : (served[1].baseModel ?? served[0]);
    if (input.lora === undefined && input.adapter === undefined) {
      // Full fine-tuning: the output is a whole model folder in the artifact store; the tokenizer
      // stays the base model's.
      const baseTokenizer = existsSync(join(input.baseModel, 'tokenizer.json')) ? input.baseModel : undefined;
      return ServedModelSchema.parse({
        path: output.output,
        tokenizer: input.tokenizer ?? baseTokenizer,
        baseModel: servedBase ?? input.registerAs?.baseModel,
      });
    }
    return ServedModelSchema.parse({
      path: input.baseModel,
      tokenizer: input.tokenizer,
      adapter: output.output,
      baseModel: servedBase ?? input.registerAs?.baseModel,
    });
  };

  /** The source of a served id; `NOT_FOUND`, saying which ids would work, when unknown. */
  const requireSource = async (id: string): Promise<ServedModel> => {
    const source = await describe(id);
    if (!source) throw await modelNotServed(kit, id, [...sources.keys()]);
    return source;
  };

  /**
   * Checks that a model folder's architecture (by `config.json`'s `model_type`) does `expected`, before
   * any weight is read. An unreadable config is left to the loader, which reports `MODEL_INVALID`.
   */
  const assertTask = async (
    id: string,
    source: ServedModel,
    expected: 'causal-language-modeling' | 'sequence-classification',
  ): Promise<void> => {
    let config: { model_type?: unknown };
    try {
      config = JSON.parse(await readFile(join(source.path, 'config.json'), 'utf8')) as typeof config;
    } catch {
      return;
    }
    const { getArchitecture } = await import('@tunekit/trainer');
    const architecture = getArchitecture(String(config.model_type ?? ''));
    const task = architecture.task ?? 'causal-language-modeling';
    if (task === expected) return;
    throw tunekitError(
      'MODEL_TASK_MISMATCH',
      expected === 'sequence-classification'
        ? `Model "${id}" (${architecture.name}) is generative, not a classifier: use /generate`
        : `Model "${id}" (${architecture.name}) is a sequence classifier, not generative: use /predict`,
      { model: id, architecture: architecture.name, task, expected },
    );
  };

  const loadClassifier = (id: string) => {
    let entry = classifying.get(id);
    if (!entry) {
      entry = (async () => {
        const source = await requireSource(id);
        await assertTask(id, source, 'sequence-classification');
        const opened = await open(source);
        const model: LoadedClassifier = {
          id,
          source,
          device: opened.device,
          labels: opened.labels,
          loadedAt: new Date().toISOString(),
          predict: async (text, options) => {
            const prediction = await opened.predict(text, options);
            return {
              ...prediction,
              base_model: source.baseModel ?? prediction.base_model,
              ...(source.language === undefined ? {} : { language: source.language }),
            };
          },
        };
        return { model, opened };
      })();
      classifying.set(id, entry);
      // A failed load is not cached: the next request tries again.
      entry.catch(() => classifying.delete(id));
    }
    return entry.then((loaded) => loaded.model);
  };

  const load = (id: string) => {
    let entry = loading.get(id);
    if (!entry) {
      entry = (async () => {
        const source = await requireSource(id);
        await assertTask(id, source, 'causal-language-modeling');
        const opened = await open(source);
        const model: LoadedModel = {
          id,
          source,
          device: opened.device,
          loadedAt: new Date().toISOString(),
          generate: (prompt, options) => opened.generate(prompt, options),
          stream: (prompt, options) => opened.stream(prompt, options),
          logProbabilities: (tokenIds) => opened.logProbabilities(tokenIds),
          countTokens: (text) => opened.tokenizer.encode(text).length,
          chatPrompt: (messages) => opened.chatPrompt(messages),
        };
        return { model, opened };
      })();
      loading.set(id, entry);
      // A failed load is not cached: the next request tries again.
      entry.catch(() => loading.delete(id));
    }
    return entry.then((loaded) => loaded.model);
  };

  return {
    load,
    loadClassifier,
    describe,
    configured: () => [...sources.keys()],
    loaded: () => [...new Set([...loading.keys(), ...classifying.keys()])],
    predictor(id, options = { temperature: 0, maxTokens: 32 }) {
      return {
        id,
        // Generated text, and the reference's real per-token log-probabilities when the row has one.
        predict: async (input, predictOptions) => {
          await load(id);
          const loaded = await loading.get(id);
          if (!loaded) throw tunekitError('NOT_FOUND', `No model "${id}" is served`);
          const { modelPredictor } = await import('@tunekit/trainer');
          return modelPredictor(loaded.opened, { id, generation: options }).predict(input, predictOptions);
        },
      };
    },
    async close() {
      const classifiers = [...classifying.values()];
      classifying.clear();
      for (const entry of classifiers) {
        const loaded = await entry.catch(() => undefined);
        if (!loaded) continue;
        await loaded.opened.close();
      }
      const entries = [...loading.values()];
      loading.clear();
      for (const entry of entries) {
        const loaded = await entry.catch(() => undefined);
        if (!loaded) continue;
        await loaded.opened.close();
      }
    },
  };
}
