import { request } from 'node:http';
import { createTunekit } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createServer } from './create-server.js';

describe('createServer graceful shutdown', () => {
  it('finishes an in-flight upload, ends open SSE streams, leaves the running job recoverable and refuses new connections', async () => {
    const kit = await createTunekit({});
    kit.jobs.register('train', async (_input, job) => {
      while (!job.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 10));
      throw job.signal.reason;
    });
    const server = await createServer(kit, {
      auth: { apiKeys: [{ name: 'admin', key: 'tk_admin_key_0123456789', roles: ['admin'] }] },
    });
    const url = await server.listen();
    const headers = { 'x-api-key': 'tk_admin_key_0123456789' };
    try {
      const job = await kit.jobs.submit(
        'train',
        { baseModel: 'models/tiny', dataset: { rows: [{ text: 'x' }] } },
        { owner: 'admin' },
      );
      const events = await fetch(`${url}/train/${job.id}/events`, { headers });
      expect(events.headers.get('content-type')).toContain('text/event-stream');
      const reader = (events.body as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: status');

      // An upload whose body is still arriving when shutdown starts.
      const upload = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const outgoing = request(`${url}/datasets?name=late`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-ndjson' },
        });
        outgoing.on('response', (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        outgoing.on('error', reject);
        outgoing.write('{"text":"first row"}\n');
        setTimeout(() => outgoing.end('{"text":"second row"}\n'), 300);
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closing = server.close();
      expect(server.context.draining).toBe(true);
      const finished = await upload;
      expect(finished.status).toBe(201);
      expect(JSON.parse(finished.body)).toMatchObject({ row_count: 2 });
      // The event stream ended on shutdown.
      let ended = false;
      while (!ended) ended = (await reader.read()).done;
      const started = performance.now();
      await closing;
      expect(performance.now() - started).toBeLessThan(2000);
      await expect(fetch(`${url}/health`)).rejects.toThrow();
      expect((await kit.jobs.get(job.id))?.status).toBe('running');
    } finally {
      await server.close();
      await kit.close();
    }
  });
});
