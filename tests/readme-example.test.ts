import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit } from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import { createModel, trainerPlugin } from '@tunekit/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-readme-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('the README "A taste" snippet', () => {
  it('creates a model, registers a dataset file, trains a LoRA job and finds it registered', async () => {
    const data = join(directory, 'notes.jsonl');
    const lines = Array.from({ length: 24 }, (_, index) =>
      JSON.stringify({ text: `note ${index}: call me ishmael.` }),
    );
    await writeFile(data, `${lines.join('\n')}\n`);
    const base = join(directory, 'base');

    const kit = await createTunekit({
      dataDirectory: join(directory, 'kit'),
      plugins: [trainerPlugin(), registryPlugin()],
    });
    try {
      await createModel({ architecture: 'gpt2', directory: base, n_layer: 2, n_embd: 64, n_head: 2 });
      const dataset = await kit.datasets.register({
        name: 'notes',
        kind: 'training',
        source: { path: data },
      });
      const job = await kit.jobs.submit('train', {
        baseModel: base,
        dataset: { versionId: dataset.id },
        outputName: 'notes-lora',
        lora: { r: 8, alpha: 16 },
        hyperparameters: { maxSteps: 4, batchSize: 4, maxLength: 32 },
        registerAs: { name: 'notes-lora' },
      });
      const done = await kit.jobs.wait(job.id, { timeoutMs: 120_000 });
      expect(done.error).toBeUndefined();
      expect(done.status).toBe('succeeded');
      // Registration is part of the job: the registry sees the version as soon as wait resolves.
      const model = await kit.registry.get('notes-lora@1');
      expect(model).toMatchObject({
        name: 'notes-lora',
        versionNumber: 1,
        stage: 'draft',
        datasetVersionId: dataset.id,
      });
      expect(model?.trainingJobId).toBe(job.id);
    } finally {
      await kit.close();
    }
  });
});
