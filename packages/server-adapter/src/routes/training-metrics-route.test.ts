import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Tunekit } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createServer } from '../server/create-server.js';
import { mergeTrainingCurves, storedTrainingCurves } from '../server/stored-training-curves.js';

const adminKey = 'tk_admin_key_0123456789';

/** A `train` handler that reports like the trainer does: run start, steps, an evaluation, the end. */
function registerReportingTrainer(kit: Tunekit, steps: number) {
  kit.jobs.register(
    'train',
    async (_input, job) => {
      kit.events.emit('training:started', { jobId: job.jobId, params: { maxSteps: steps } });
      for (let step = 1; step <= steps; step += 1) {
        kit.events.emit('training:step', {
          jobId: job.jobId,
          step,
          epoch: 0,
          loss: 5 / step,
          learningRate: 0.001 * step,
          tokensPerSecond: 1000 + step,
        });
        if (step % 4 === 0) {
          kit.events.emit('training:evaluated', {
            jobId: job.jobId,
            step,
            metrics: { validationLoss: 6 / step },
          });
        }
      }
      kit.events.emit('training:finished', { jobId: job.jobId, status: 'succeeded' });
      return { steps };
    },
    { requeueOnRecovery: true },
  );
}

describe('GET /train/{id}/metrics after a restart', () => {
  it("charts a run trained by another process from the tracker's stored metrics.jsonl", async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-metrics-history-'));
    try {
      // The run happens in a kit that is closed before the server starts (another process, earlier).
      const worker = await createTunekit({ dataDirectory: directory });
      registerReportingTrainer(worker, 12);
      const job = await worker.jobs.submit(
        'train',
        { baseModel: 'models/tiny', dataset: { rows: [{ text: 'x' }] } },
        { owner: 'admin' },
      );
      expect((await worker.jobs.wait(job.id)).status).toBe('succeeded');
      await worker.close();

      const web = await createTunekit({ dataDirectory: directory, jobs: { recover: false } });
      web.jobs.register('train', async () => ({}), { concurrency: 0 });
      const server = await createServer(web, {
        auth: { apiKeys: [{ name: 'admin', key: adminKey, roles: ['admin'] }] },
      });
      try {
        const response = await server.app.inject({
          method: 'GET',
          url: `/train/${job.id}/metrics`,
          headers: { 'x-api-key': adminKey },
        });
        expect(response.statusCode).toBe(200);
        const body = response.json() as {
          job_id: string;
          steps: Array<{ step: number; loss: number; learning_rate: number; tokens_per_second?: number }>;
          evaluations: Array<{ step: number; metrics: Record<string, number> }>;
        };
        expect(body.job_id).toBe(job.id);
        expect(body.steps.map((point) => point.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
        expect(body.steps[3]).toEqual({ step: 4, loss: 1.25, learning_rate: 0.004, tokens_per_second: 1004 });
        expect(body.evaluations.map((point) => point.step)).toEqual([4, 8, 12]);
        // Metric names are data: they keep the casing the trainer gave them (as the live series does).
        expect(body.evaluations[0]?.metrics).toEqual({ validationLoss: 1.5 });
      } finally {
        await server.close();
        await web.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('storedTrainingCurves / mergeTrainingCurves', () => {
  const point = (key: string, value: number, step: number) => ({ key, value, step, timestamp: 0 });

  it('groups per-step keys, keeps the later value of a repeated step, and thins long runs', () => {
    const curves = storedTrainingCurves([
      point('loss', 2, 1),
      point('learning_rate', 0.1, 1),
      point('epoch', 0, 1),
      point('loss', 1.5, 2),
      point('learning_rate', 0.1, 2),
      point('loss', 1.4, 2),
      point('validationLoss', 1.6, 2),
    ]);
    expect(curves.steps).toEqual([
      { step: 1, loss: 2, learningRate: 0.1 },
      { step: 2, loss: 1.4, learningRate: 0.1 },
    ]);
    expect(curves.evaluations).toEqual([{ step: 2, metrics: { validationLoss: 1.6 } }]);
    const long = Array.from({ length: 100 }, (_, index) => [
      point('loss', 1, index + 1),
      point('learning_rate', 0.1, index + 1),
    ]).flat();
    const thinned = storedTrainingCurves(long, 10).steps;
    expect(thinned.length).toBeLessThanOrEqual(11);
    expect(thinned.at(-1)?.step).toBe(100);
  });

  it('puts the stored steps before the first step seen live (a run resumed after a restart)', () => {
    const stored = {
      steps: [1, 2, 3].map((step) => ({ step, loss: 1, learningRate: 0.1 })),
      evaluations: [{ step: 2, metrics: { loss: 1 } }],
    };
    const live = { steps: [3, 4].map((step) => ({ step, loss: 0.5, learningRate: 0.1 })), evaluations: [] };
    const merged = mergeTrainingCurves(stored, live);
    expect(merged.steps.map((entry) => [entry.step, entry.loss])).toEqual([
      [1, 1],
      [2, 1],
      [3, 0.5],
      [4, 0.5],
    ]);
    expect(merged.evaluations).toEqual([{ step: 2, metrics: { loss: 1 } }]);
  });
});
