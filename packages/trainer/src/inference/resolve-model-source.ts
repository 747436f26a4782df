import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type ArtifactStore, TrainingJobInputSchema, type Tunekit, tunekitError } from '@tunekit/core';

/** What {@link resolveModelSource} found: local folders for the model, its adapter and tokenizer. */
export interface ResolvedModelSource {
  /** Model folder (`config.json` + weights). */
  model: string;
  /** PEFT adapter folder, when the source is an adapter over `model`. */
  adapter?: string;
  /** Tokenizer folder, when it is not the model's. */
  tokenizer?: string;
  /** Temporary folders (downloaded artifacts) to delete on close. */
  temporary: string[];
}

/** The fields of a registry version this module reads (the registry is a plugin: no import). */
interface RegistryVersionLike {
  id: string;
  artifactUri: string;
  baseModel?: string;
  baseModelRelation?: string;
  trainingJobId?: string;
}

const REGISTRY_SERVICE = { id: 'registry' } as const;

function needsKit(source: string, what: string): never {
  throw tunekitError(
    'VALIDATION_FAILED',
    `openModel("${source}") reads ${what}: pass the kit (openModel("${source}", { kit }))`,
    { issues: [{ path: 'kit', message: 'required for this source' }] },
  );
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A local folder for an `artifact://` prefix: the store's own path, or a download into a temporary folder. */
async function materialize(
  uri: string,
  artifacts: ArtifactStore | undefined,
  temporary: string[],
  source: string,
): Promise<string> {
  if (!uri.startsWith('artifact://')) return uri.startsWith('file://') ? new URL(uri).pathname : uri;
  if (!artifacts) needsKit(source, `the artifact ${uri}`);
  const local = artifacts.localPath?.(uri);
  if (local && (await isDirectory(local))) return local;
  const files = await artifacts.list(`${uri.replace(/\/+$/, '')}/`);
  if (files.length === 0) {
    throw tunekitError('ARTIFACT_NOT_FOUND', `No files under ${uri} (source "${source}")`, { uri });
  }
  // The process id in the name lets a restarted server remove copies a killed process left behind.
  const folder = await mkdtemp(join(tmpdir(), `tunekit-open-model-${process.pid}-`));
  try {
    for (const file of files)
      await writeFile(join(folder, basename(file.uri)), await artifacts.get(file.uri));
  } catch (error) {
    // The caller never sees this folder when resolving fails: remove it here.
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  temporary.push(folder);
  return folder;
}

/** Model, adapter and tokenizer of a succeeded `train` job (core's training contract). */
async function fromJob(jobId: string, kit: Tunekit | undefined, source: string, temporary: string[]) {
  if (!kit) needsKit(source, `job ${jobId}`);
  const job = await kit.jobs.get(jobId);
  if (!job) {
    throw tunekitError('JOB_NOT_FOUND', `No job "${jobId}"`);
  }
  const output = (job.output ?? {}) as { output?: unknown };
  const parsed = TrainingJobInputSchema.safeParse(job.input);
  if (job.status !== 'succeeded' || !parsed.success || typeof output.output !== 'string') {
    throw tunekitError(
      'NOT_FOUND',
      `Job "${jobId}" has no model to open (status ${job.status}; a succeeded train job with an outputName or registerAs has one)`,
      { jobId, status: job.status },
    );
  }
  const input = parsed.data;
  const trained = await materialize(output.output, kit.artifacts, temporary, source);
  const adapterTrained = input.lora !== undefined || input.adapter !== undefined;
  return {
    model: adapterTrained ? await materialize(input.baseModel, kit.artifacts, temporary, source) : trained,
    adapter: adapterTrained ? trained : undefined,
    tokenizer: input.tokenizer,
  };
}

/**
 * Resolves what `openModel` was given to local folders: a model folder; an `artifact://` or
 * `file://` URI; `job:<id>` (the output of a succeeded `train` job, over its base model when it
 * trained an adapter); or a registry reference (`name`, `name@production`, `name@3`, a version id)
 * when the kit has the registry plugin.
 *
 * @throws `NOT_FOUND` (unknown reference, job without output), `JOB_NOT_FOUND`,
 *   `ARTIFACT_NOT_FOUND`, `VALIDATION_FAILED` when the source needs the kit and none was given.
 */
export async function resolveModelSource(source: string, kit?: Tunekit): Promise<ResolvedModelSource> {
  const temporary: string[] = [];
  if (source.startsWith('job:')) {
    return { ...(await fromJob(source.slice(4), kit, source, temporary)), temporary };
  }
  if (/^(artifact|file):\/\//.test(source)) {
    return { model: await materialize(source, kit?.artifacts, temporary, source), temporary };
  }
  if (await isDirectory(source)) return { model: source, temporary };
  const looksLikeReference = /^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._-]+)?$/.test(source);
  if (looksLikeReference && kit?.has(REGISTRY_SERVICE)) {
    const registry = kit.get<{ get(reference: string): Promise<RegistryVersionLike | undefined> }>(
      REGISTRY_SERVICE,
    );
    const reference = source.includes('@') ? source : `${source}@production`;
    const version = await registry.get(reference);
    if (!version) {
      throw tunekitError('NOT_FOUND', `No model version "${reference}" in the registry`, { reference });
    }
    if (version.trainingJobId && (await kit.jobs.get(version.trainingJobId))) {
      const job = await fromJob(version.trainingJobId, kit, source, temporary);
      const artifact = await materialize(version.artifactUri, kit.artifacts, temporary, source);
      return job.adapter
        ? { ...job, adapter: artifact, temporary }
        : { model: artifact, tokenizer: job.tokenizer, temporary };
    }
    const artifact = await materialize(version.artifactUri, kit.artifacts, temporary, source);
    if (version.baseModelRelation === 'adapter' && version.baseModel) {
      return {
        model: await materialize(version.baseModel, kit.artifacts, temporary, source),
        adapter: artifact,
        temporary,
      };
    }
    return { model: artifact, temporary };
  }
  // Not a folder, not a reference the kit can resolve: loading it reports MODEL_INVALID naming the path.
  return { model: source, temporary };
}
