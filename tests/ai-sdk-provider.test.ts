import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Tunekit } from '@tunekit/core';
import { createServer, type TunekitServer } from '@tunekit/server-adapter';
import { createTunekitProvider } from '@tunekit/server-adapter/ai-provider';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const apiKey = 'sk-tunekit-ai-sdk-provider-test';
let directory: string;
let model: string;
let kit: Tunekit;
let server: TunekitServer;
let url: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-ai-sdk-'));
  model = await createTinyGpt2(join(directory, 'tiny-gpt2'));
  kit = await createTunekit();
  server = await createServer(kit, {
    auth: { apiKeys: [{ name: 'ai-sdk', key: apiKey, roles: ['user'] }] },
    models: { 'tiny-gpt2': { path: model, threads: 1 } },
  });
  url = await server.listen();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await kit?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const call = {
  system: 'You write short notes.',
  prompt: 'the cat',
  maxOutputTokens: 8,
  // Sampled, but seeded: the same text every time, and longer than the greedy answer of the random model.
  temperature: 1,
  seed: 11,
} as const;

describe('the Tunekit provider for the Vercel AI SDK', () => {
  it('generateText and streamText on a local model agree, with usage and finish reason', async () => {
    const tunekit = createTunekitProvider({ kit, models: { 'tiny-gpt2': { path: model, threads: 1 } } });
    try {
      const generated = await generateText({ model: tunekit('tiny-gpt2'), ...call });
      expect(generated.text.length).toBeGreaterThan(0);
      expect(generated.finishReason).toMatch(/^(stop|length)$/);
      expect(generated.usage.outputTokens).toBeGreaterThan(0);
      expect(generated.usage.outputTokens).toBeLessThanOrEqual(8);
      expect(generated.usage.inputTokens).toBeGreaterThan(5);
      expect(generated.response.modelId).toBe('tiny-gpt2');

      const streamed = streamText({ model: tunekit('tiny-gpt2'), ...call });
      const deltas: string[] = [];
      for await (const delta of streamed.textStream) deltas.push(delta);
      // The random test model's bytes often decode to nothing printable, so the count of deltas varies.
      expect(deltas.length).toBeGreaterThanOrEqual(1);
      expect(deltas.join('')).toBe(generated.text);
      expect(await streamed.finishReason).toBe(generated.finishReason);
      expect((await streamed.usage).outputTokens).toBe(generated.usage.outputTokens);
    } finally {
      await tunekit.close();
    }
  });

  it('generateText and streamText on a remote Tunekit server give the local text', async () => {
    const local = createTunekitProvider({ kit, models: { 'tiny-gpt2': { path: model, threads: 1 } } });
    const remote = createTunekitProvider({ baseURL: url, apiKey });
    try {
      const expected = (await generateText({ model: local('tiny-gpt2'), ...call })).text;
      const generated = await generateText({ model: remote('tiny-gpt2'), ...call });
      expect(generated.text).toBe(expected);
      expect(generated.usage.totalTokens).toBe(
        (generated.usage.inputTokens ?? 0) + (generated.usage.outputTokens ?? 0),
      );
      const streamed = streamText({ model: remote.languageModel('tiny-gpt2'), ...call });
      let text = '';
      for await (const delta of streamed.textStream) text += delta;
      expect(text).toBe(expected);
      expect((await streamed.usage).inputTokens).toBe(generated.usage.inputTokens);
      // top_k is not part of the OpenAI-compatible route: a warning, not a failure.
      const warned = await generateText({ model: remote('tiny-gpt2'), ...call, topK: 5 });
      expect(warned.warnings?.map((warning) => warning.type)).toContain('unsupported');
      // A wrong key is the server's coded 401.
      const rejected = await generateText({
        model: createTunekitProvider({ baseURL: url, apiKey: 'sk-wrong' })('tiny-gpt2'),
        ...call,
        maxRetries: 0,
      }).catch((error: unknown) => error);
      expect(rejected).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    } finally {
      await local.close();
    }
  });
});
