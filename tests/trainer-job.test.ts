import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type EventEnvelope, TunekitError } from '@tunekit/core';
import { loadPeftAdapter, trainerPlugin } from '@tunekit/trainer';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let directory: string;
let model: string;
const rows = Array.from({ length: 16 }, (_, index) => ({ text: `to be or not to be, take ${index}. ` }));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-train-job-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("kit.jobs.submit('train')", () => {
  it('trains as a job in a worker: progress, events, checkpoints and the adapter in the artifact store', async () => {
    const kit = await createTunekit({ dataDirectory: join(directory, 'kit'), plugins: [trainerPlugin()] });
    try {
      const seen: EventEnvelope[] = [];
      kit.events.onAny((envelope) => seen.push(envelope));
      const job = await kit.jobs.submit('train', {
        baseModel: model,
        lora: { r: 4, alpha: 8 },
        threads: 1,
        dataset: { rows },
        validation: { rows: rows.slice(0, 2) },
        hyperparameters: { maxSteps: 6, batchSize: 4, maxLength: 32, evalEvery: 3, checkpointEvery: 3 },
        outputName: 'demo',
      });
      const done = await kit.jobs.wait(job.id, { timeoutMs: 60_000 });
      expect(done.status).toBe('succeeded');
      expect(done.output).toMatchObject({ steps: 6, output: `artifact://models/demo/${job.id}` });
      expect(done.progress).toBe(1);
      const names = new Set(seen.map((envelope) => envelope.name));
      for (const name of [
        'job:progress',
        'training:started',
        'training:step',
        'training:evaluated',
        'checkpoint:saved',
      ])
        expect(names).toContain(name);
      expect(
        await kit.artifacts.exists(`artifact://jobs/${job.id}/checkpoints/step-000006/trainer_state.json`),
      ).toBe(true);
      const adapterFolder = kit.artifacts.localPath?.(`artifact://models/demo/${job.id}`);
      if (adapterFolder) expect((await loadPeftAdapter(adapterFolder)).config.r).toBe(4);
    } finally {
      await kit.close();
    }
  });

  it('cancels a running job at the next step and leaves its checkpoint in the artifact store', async () => {
    const kit = await createTunekit({ plugins: [trainerPlugin()] });
    try {
      const job = await kit.jobs.submit('train', {
        baseModel: model,
        lora: { r: 4 },
        threads: 1,
        dataset: { rows },
        hyperparameters: { maxSteps: 5000, batchSize: 2, maxLength: 32 },
      });
      kit.events.on('training:step', (payload) => {
        if (payload.step === 3) void kit.jobs.cancel(job.id);
      });
      // The queue marks the job cancelled at once; the worker then stops at its next step, and its
      // checkpoint is mirrored into the store before `training:finished` is relayed.
      const finished = new Promise((resolve) => kit.events.on('training:finished', resolve));
      const done = await kit.jobs.wait(job.id, { timeoutMs: 60_000 });
      expect(done.status).toBe('cancelled');
      expect(await finished).toMatchObject({ status: 'cancelled' });
      const left = await kit.artifacts.list(`artifact://jobs/${job.id}/checkpoints/`);
      expect(left.some((info) => info.uri.endsWith('/trainer_state.json'))).toBe(true);
    } finally {
      await kit.close();
    }
  });

  it('marks the job failed with the reason when training fails', async () => {
    const kit = await createTunekit({ plugins: [trainerPlugin()] });
    try {
      const job = await kit.jobs.submit('train', {
        baseModel: join(directory, 'no-such-model'),
        dataset: { rows },
      });
      const done = await kit.jobs.wait(job.id, { timeoutMs: 60_000 });
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('MODEL_INVALID');
      expect(done.error?.message).toMatch(/config\.json/);
    } finally {
      await kit.close();
    }
  });

  it('rejects a bad input at submit with a coded error naming the sent fields, and queues nothing', async () => {
    const kit = await createTunekit({ plugins: [trainerPlugin()] });
    try {
      const sent = {
        baseModel: model,
        dataset: { rows },
        hyperparameters: { max_steps: 200 },
        outputName: 'notes-lora',
      };
      // @ts-expect-error `max_steps` is not a hyper-parameter (the contract is typed per job kind).
      const refused = await kit.jobs.submit('train', sent).catch((caught: unknown) => caught);
      expect(TunekitError.isInstance(refused) && refused.code).toBe('VALIDATION_FAILED');
      const message = (refused as Error).message;
      expect(message).toContain('hyperparameters');
      expect(message).toContain('max_steps');
      expect(message).toContain('Fields sent: baseModel, dataset, hyperparameters, outputName');
      expect(message).toContain('nothing was queued');
      expect((await kit.jobs.list({ kind: 'train' })).items).toEqual([]);
      // The other shape that used to exist (`model`, `options`) is refused the same way.
      const oldShape = { model, dataset: { rows }, options: {} };
      // @ts-expect-error `model` and `options` are not fields of the training contract.
      const old = await kit.jobs.submit('train', oldShape).catch((caught: unknown) => caught);
      expect((old as Error).message).toContain('Unrecognized key');
      expect((old as Error).message).toContain('Fields sent: model, dataset, options');
    } finally {
      await kit.close();
    }
  });
});
