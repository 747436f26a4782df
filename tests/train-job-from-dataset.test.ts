import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type TrainingJobInputInput } from '@tunekit/core';
import { trainerPlugin } from '@tunekit/trainer';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let directory: string;
let model: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-train-dataset-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('training on a registered dataset version with core’s TrainingJobInput shape', () => {
  it('trains a job whose rows come from kit.datasets and saves the adapter under artifact://models/', async () => {
    const kit = await createTunekit({ plugins: [trainerPlugin({ worker: false })] });
    try {
      const version = await kit.datasets.register({
        name: 'notes',
        kind: 'training',
        source: {
          rows: Array.from({ length: 12 }, (_, index) => ({ text: `call me ishmael, take ${index}.` })),
        },
      });
      const job = await kit.jobs.submit('train', {
        baseModel: model,
        dataset: { versionId: version.id },
        outputName: 'notes-lora',
        lora: { r: 4, alpha: 8 },
        hyperparameters: { maxSteps: 3, batchSize: 4, maxLength: 32 },
      } satisfies TrainingJobInputInput);
      const done = await kit.jobs.wait(job.id, { timeoutMs: 60_000 });
      expect(done.error).toBeUndefined();
      expect(done.status).toBe('succeeded');
      expect(done.output).toMatchObject({ steps: 3, output: `artifact://models/notes-lora/${job.id}` });
      expect(await kit.artifacts.exists(`artifact://models/notes-lora/${job.id}/adapter_config.json`)).toBe(
        true,
      );
    } finally {
      await kit.close();
    }
  });
});
