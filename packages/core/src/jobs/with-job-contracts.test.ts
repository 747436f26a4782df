import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTunekit } from '../kit/create-tunekit.js';
import { definePlugin } from '../plugins/define-plugin.js';

describe('withJobContracts (kit.jobs)', () => {
  it('validates a kind registered with inputSchema at submit, storing the parsed input, and queues nothing when bad', async () => {
    const kit = await createTunekit();
    try {
      kit.jobs.register('resize', async (input: { size: number; fit: string }) => input, {
        inputSchema: z
          .object({ size: z.number().int().positive(), fit: z.string().default('cover') })
          .strict(),
      });
      const refused = await kit.jobs
        .submit('resize', { size: -1, sise: 3 })
        .catch((caught: unknown) => caught);
      expect((refused as { code?: string }).code).toBe('VALIDATION_FAILED');
      expect((refused as Error).message).toContain('size:');
      expect((refused as Error).message).toContain('"sise"');
      expect((refused as Error).message).toContain('Fields sent: size, sise');
      expect((await kit.jobs.list()).items).toEqual([]);
      const job = await kit.jobs.submit('resize', { size: 3 });
      expect(job.input).toEqual({ size: 3, fit: 'cover' });
      expect((await kit.jobs.wait(job.id)).output).toEqual({ size: 3, fit: 'cover' });
    } finally {
      await kit.close();
    }
  });

  it('validates the train kind with core’s schema even before a trainer registers it', async () => {
    const kit = await createTunekit();
    try {
      const refused = await kit.jobs
        .submit('train', { baseModel: './m', dataset: { rows: [{ text: 'x' }] }, options: {} } as never)
        .catch((caught: unknown) => caught);
      expect((refused as Error).message).toContain('Unrecognized key: "options"');
    } finally {
      await kit.close();
    }
  });

  it('runs completion steps before the job is succeeded and merges their fields into the output', async () => {
    const order: string[] = [];
    const kit = await createTunekit({
      plugins: [
        definePlugin({
          name: 'stamp',
          setup(context) {
            context.extensions.add('jobCompletion', 'stamp', {
              kinds: ['echo'],
              async complete(job) {
                order.push(`complete ${JSON.stringify(job.output)}`);
                await new Promise((resolve) => setTimeout(resolve, 50));
                return { stamped: true };
              },
            });
          },
        }),
      ],
    });
    try {
      kit.jobs.register('echo', async (input: { value: number }) => {
        order.push('handler');
        return { value: input.value };
      });
      kit.events.on('job:succeeded', () => order.push('succeeded'));
      const job = await kit.jobs.submit('echo', { value: 1 });
      const done = await kit.jobs.wait(job.id);
      expect(done.status).toBe('succeeded');
      expect(done.output).toEqual({ value: 1, stamped: true });
      expect(order).toEqual(['handler', 'complete {"value":1}', 'succeeded']);

      kit.jobs.register('fails-to-complete', async () => ({ value: 2 }));
      kit.extensions.add('jobCompletion', 'broken', {
        kinds: ['fails-to-complete'],
        async complete() {
          throw new Error('registry down');
        },
      });
      const failing = await kit.jobs.submit('fails-to-complete', {});
      const failed = await kit.jobs.wait(failing.id);
      expect(failed.status).toBe('failed');
      expect(failed.error?.message).toContain('registry down');
    } finally {
      await kit.close();
    }
  });
});
