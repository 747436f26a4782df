import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createServer } from '../server/create-server.js';

describe('GET /train/{id}/events for a job another runner runs', () => {
  it('streams status snapshots from the shared store and ends on the final status', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-sse-shared-'));
    // Two kits on one SQLite file: the worker runs jobs, the web kit only serves HTTP.
    const worker = await createTunekit({ dataDirectory: directory, jobs: { pollIntervalMs: 50 } });
    const web = await createTunekit({ dataDirectory: directory, jobs: { pollIntervalMs: 50 } });
    worker.jobs.register('train', async (_input, job) => {
      for (let step = 1; step <= 4; step++) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        job.progress(step / 4, { message: `step ${step}` });
      }
      return { steps: 4 };
    });
    web.jobs.register('train', async () => ({}), { concurrency: 0 });
    const server = await createServer(web, {
      auth: { apiKeys: [{ name: 'admin', key: 'tk_admin_key_0123456789', roles: ['admin'] }] },
    });
    const url = await server.listen();
    try {
      const job = await web.jobs.submit(
        'train',
        { baseModel: 'models/tiny', dataset: { rows: [{ text: 'x' }] } },
        { owner: 'admin' },
      );
      const response = await fetch(`${url}/train/${job.id}/events`, {
        headers: { 'x-api-key': 'tk_admin_key_0123456789' },
      });
      const text = await response.text(); // the stream ends by itself on the final status
      const statuses = [...text.matchAll(/event: status\ndata: (.*)\n/g)].map(
        (match) => JSON.parse(match[1] as string) as { status: string; progress: number },
      );
      expect(statuses.at(-1)?.status).toBe('succeeded');
      const progressSeen = new Set(statuses.map((status) => status.progress));
      // Intermediate progress arrived while the job ran elsewhere, not just the start and the end.
      expect([...progressSeen].some((progress) => progress > 0 && progress < 1)).toBe(true);
      expect((await worker.jobs.get(job.id))?.output).toEqual({ steps: 4 });
    } finally {
      await server.close();
      await web.close();
      await worker.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
