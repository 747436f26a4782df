import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTunekit,
  type Job,
  type TrainingJobInput,
  type TrainingJobOutput,
  TunekitError,
  type TunekitEventMap,
} from '@tunekit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHashingEmbedder } from './embedders/hashing-embedder.js';
import { registerFromTrainingJob, registrationFromTrainingJob } from './register-from-training-job.js';
import { RegistryKey, registryPlugin } from './registry-plugin.js';

describe('registryPlugin', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tunekit-registry-plugin-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('provides kit.registry and RegistryKey, audits into kit.audit, and persists across kits (SQLite data directory)', async () => {
    const kit = await createTunekit({ dataDirectory: folder, plugins: [registryPlugin()] });
    expect(kit.registry).toBe(kit.get(RegistryKey));
    expect(kit.extensions.get('embedder', 'hashing')?.dimensions).toBe(256);
    const version = await kit.registry.register(
      { name: 'tone', artifactUri: 'artifact://models/tone/1', description: 'polite Japanese replies' },
      { actor: 'ada', requestId: 'r-1' },
    );
    await kit.registry.transition(version.id, 'staging', {}, { actor: 'ada' });
    await kit.registry.deploy(version.id, { reason: 'ship it' }, { actor: 'ada' });
    const audit = await kit.audit.query({ action: 'model.*', order: 'asc' });
    expect(audit.items.map((entry) => [entry.action, entry.actor, entry.outcome])).toEqual([
      ['model.register', 'ada', 'success'],
      ['model.transition', 'ada', 'success'],
      ['model.deploy', 'ada', 'success'],
    ]);
    expect((await kit.registry.recommend({ text: 'japanese replies', k: 1 }))[0]?.model.id).toBe('tone@1');
    await kit.close();
    expect(kit.extensions.get('embedder', 'hashing')).toBeUndefined();
    expect((kit as { registry?: unknown }).registry).toBeUndefined();

    const reopened = await createTunekit({ dataDirectory: folder, plugins: [registryPlugin()] });
    const rebuilt: Array<TunekitEventMap['registry:index-rebuilt']> = [];
    reopened.events.on('registry:index-rebuilt', (event) => rebuilt.push(event));
    expect((await reopened.registry.get('tone@production'))?.id).toBe('tone@1');
    expect((await reopened.registry.recommend({ text: 'polite', k: 5 })).map((hit) => hit.model.id)).toEqual([
      'tone@1',
    ]);
    expect(rebuilt).toEqual([]);
    await reopened.close();
  });

  it('registers the output of a train job that asks for it before the job succeeds, once, with metrics and lineage', async () => {
    const kit = await createTunekit({ dataDirectory: folder, plugins: [registryPlugin()] });
    kit.jobs.register('train', async (input: TrainingJobInput) => ({
      steps: 20,
      finalLoss: 0.42,
      bestValidationLoss: 0.5,
      tokensPerSecond: 1234,
      output: input.outputName === undefined ? undefined : `artifact://outputs/${input.outputName}`,
      status: 'succeeded',
    }));
    const registered = new Promise<TunekitEventMap['model:registered']>((resolve) => {
      kit.events.once('model:registered', resolve);
    });
    const job = await kit.jobs.submit(
      'train',
      {
        baseModel: '/models/gpt2',
        dataset: { versionId: 'support@2' },
        lora: { r: 8, alpha: 32 },
        hyperparameters: { learningRate: 0.001, epochs: 2 },
        outputName: 'tone-lora',
        registerAs: { name: 'tone-lora', tags: ['auto'], description: 'LoRA from job', language: 'ja' },
      },
      { owner: 'grace' },
    );
    const done = await kit.jobs.wait(job.id);
    // The job succeeds only once its version exists: wait's result names it, the registry sees it.
    expect(done.status).toBe('succeeded');
    expect((done.output as TrainingJobOutput).registered).toEqual({
      id: 'tone-lora@1',
      name: 'tone-lora',
      version: 1,
      reference: 'tone-lora@1',
    });
    expect((await kit.registry.get('tone-lora@1'))?.trainingJobId).toBe(job.id);
    const event = await registered;
    expect(event).toMatchObject({ name: 'tone-lora', versionNumber: 1, trainingJobId: job.id });
    const version = await kit.registry.require('tone-lora@1');
    expect(version).toMatchObject({
      artifactUri: 'artifact://outputs/tone-lora',
      baseModel: '/models/gpt2',
      baseModelRelation: 'adapter',
      libraryName: 'peft',
      datasetVersionId: 'support@2',
      trainingJobId: job.id,
      createdBy: 'grace',
      tags: ['auto'],
      language: ['ja'],
      metrics: { steps: 20, finalLoss: 0.42, bestValidationLoss: 0.5, tokensPerSecond: 1234 },
    });
    expect(version.trainingParameters).toMatchObject({
      learningRate: 0.001,
      epochs: 2,
      lora: { r: 8, alpha: 32 },
    });
    expect((await kit.registry.lineage(version.id)).trainingJob?.id).toBe(job.id);
    expect(await kit.artifacts.exists('artifact://outputs/tone-lora/README.md')).toBe(true);

    const finished = (await kit.jobs.get(job.id)) as Job;
    expect((await registerFromTrainingJob(kit.registry, finished))?.id).toBe('tone-lora@1');

    const plain = await kit.jobs.submit('train', {
      baseModel: '/models/gpt2',
      dataset: { rows: [{ text: 'x' }] },
      outputName: 'x',
    });
    await kit.jobs.wait(plain.id);
    expect(registrationFromTrainingJob((await kit.jobs.get(plain.id)) as Job)).toBeUndefined();
    await kit.close();
    // Only the job with registerAs was registered, once.
    const reopened = await createTunekit({ dataDirectory: folder, plugins: [registryPlugin()] });
    expect((await reopened.registry.search()).items.map((item) => item.id)).toEqual(['tone-lora@1']);
    await reopened.close();
  });

  it('without the plugin, kit.registry is a coded error naming the plugin to add (was a raw TypeError)', async () => {
    const kit = await createTunekit();
    try {
      expect(() => kit.registry.get('notes-lora@1')).toThrow(
        expect.objectContaining({
          code: 'SERVICE_MISSING',
          message: expect.stringContaining('add registryPlugin() from @tunekit/registry'),
        }),
      );
    } finally {
      await kit.close();
    }
  });

  it('uses an embedder registered by name on the extension point, and reports a missing one', async () => {
    const kit = await createTunekit({
      plugins: [
        registryPlugin({ embedder: 'wide' }),
        {
          name: 'wide-embedder',
          setup(context) {
            context.extensions.add(
              'embedder',
              'wide',
              createHashingEmbedder({ name: 'wide', dimensions: 64 }),
            );
          },
        },
      ],
    });
    await kit.registry.register({ name: 'm', artifactUri: 'artifact://m' });
    expect(await kit.registry.indexStats()).toMatchObject({ embedder: 'wide', dimensions: 64, items: 1 });
    await kit.close();

    const missing = await createTunekit({ plugins: [registryPlugin({ embedder: 'absent' })] });
    const error = await missing.registry.recommend({ text: 'x' }).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('EMBEDDER_NOT_FOUND');
    // Registration still works without an index; the index is built once the embedder exists.
    expect((await missing.registry.register({ name: 'm', artifactUri: 'artifact://m' })).id).toBe('m@1');
    await missing.close();
  });
});
