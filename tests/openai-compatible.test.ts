import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Tunekit } from '@tunekit/core';
import { type ModelRegistry, registryPlugin } from '@tunekit/registry';
import { createServer, type TunekitServer } from '@tunekit/server-adapter';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const apiKey = 'sk-tunekit-openai-compatibility-test';
let directory: string;
let kit: Tunekit & { registry: ModelRegistry };
let server: TunekitServer;
let url: string;
let openai: OpenAI;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-openai-'));
  const model = await createTinyGpt2(join(directory, 'tiny-gpt2'));
  kit = (await createTunekit({ plugins: [registryPlugin()] })) as Tunekit & { registry: ModelRegistry };
  // A production version in the registry: /v1/models lists it under its bare name.
  const version = await kit.registry.register({
    name: 'notes-lora',
    artifactUri: 'artifact://models/notes-lora',
  });
  await kit.registry.transition(version.id, 'staging');
  await kit.registry.deploy(version.id);
  server = await createServer(kit, {
    auth: { apiKeys: [{ name: 'openai-client', key: apiKey, roles: ['user'] }] },
    models: { 'tiny-gpt2': { path: model, threads: 1 } },
  });
  url = await server.listen();
  openai = new OpenAI({ baseURL: `${url}/v1`, apiKey });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await kit?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe('OpenAI-compatible routes with the official openai client', () => {
  it('lists configured models and registry production versions', async () => {
    const models = await openai.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['tiny-gpt2', 'notes-lora']);
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'tunekit' });
  });

  it('answers chat completions with usage, max_tokens and a finish reason; streaming gives the same text', async () => {
    const request = {
      model: 'tiny-gpt2',
      messages: [
        { role: 'system' as const, content: 'You write short notes.' },
        { role: 'user' as const, content: 'the cat' },
      ],
      max_tokens: 8,
      temperature: 0,
    };
    const completion = await openai.chat.completions.create(request);
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    const choice = completion.choices[0];
    expect(choice?.message.role).toBe('assistant');
    expect(choice?.finish_reason).toMatch(/^(stop|length)$/);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(8);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(5);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );

    const stream = await openai.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      usage = chunk.usage ?? usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(choice?.message.content);
    expect(finishReason).toBe(choice?.finish_reason);
    expect(usage).toEqual(completion.usage);
  });

  it('applies seed, top_p and stop on text completions', async () => {
    const sampled = {
      model: 'tiny-gpt2',
      prompt: 'the dog',
      max_tokens: 12,
      temperature: 1,
      top_p: 0.9,
      seed: 7,
    };
    const first = await openai.completions.create(sampled);
    const second = await openai.completions.create(sampled);
    expect(first.object).toBe('text_completion');
    const text = first.choices[0]?.text ?? '';
    expect(second.choices[0]?.text).toBe(text);
    expect(first.usage?.completion_tokens).toBeLessThanOrEqual(12);
    // Stop at a piece of the text that the same sampling produces: it ends there, without the stop string.
    const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 2);
    expect(stop.length).toBe(2);
    const stopped = await openai.completions.create({ ...sampled, stop: [stop] });
    expect(stopped.choices[0]?.finish_reason).toBe('stop');
    expect(text.startsWith(stopped.choices[0]?.text ?? '!')).toBe(true);
    expect(stopped.choices[0]?.text.length).toBeLessThan(text.length);
    const streamed = await openai.completions.create({ ...sampled, stream: true });
    let joined = '';
    for await (const chunk of streamed) joined += chunk.choices[0]?.text ?? '';
    expect(joined).toBe(text);
  });

  it('speaks SSE in OpenAI chunk format to raw (curl-shaped) requests, ending with data: [DONE]', async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny-gpt2',
        messages: [{ role: 'user', content: 'hello' }],
        max_tokens: 4,
        temperature: 0,
        stream: true,
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const lines = (await response.text()).split('\n').filter((line) => line.length > 0);
    expect(lines.every((line) => line.startsWith('data: '))).toBe(true);
    expect(lines.at(-1)).toBe('data: [DONE]');
    const first = JSON.parse(lines[0]?.slice(6) ?? '{}') as { choices: { delta: { role?: string } }[] };
    expect(first.choices[0]?.delta.role).toBe('assistant');

    const unauthenticated = await fetch(`${url}/v1/models`, {
      headers: { authorization: 'Bearer sk-wrong' },
    });
    expect(unauthenticated.status).toBe(401);
    const invalid = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-gpt2', messages: [], max_tokens: 4 }),
    });
    expect(invalid.status).toBe(400);
    const unknown = await openai.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
