import { relayedTunekitError, type TunekitError } from '@tunekit/core';
import { parseServerSentEvents } from '../client/create-tunekit-client.js';
import type { ChatBackend, ChatBackendOptions } from './chat-backend.js';

/** Options of {@link remoteChatBackend}. */
export interface RemoteChatBackendOptions {
  /** The server's base URL (with its mount prefix), e.g. `http://127.0.0.1:3000`. */
  baseURL: string;
  /** An API key or a login token, sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** A fetch implementation (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Extra headers of every request. */
  headers?: Record<string, string>;
}

interface ChatCompletion {
  id: string;
  choices: { message: { content: string }; finish_reason: 'stop' | 'length' }[];
  usage: { prompt_tokens: number; completion_tokens: number };
}

interface ChatCompletionChunk {
  choices: { delta: { content?: string }; finish_reason: 'stop' | 'length' | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

function body(modelId: string, messages: unknown, options: ChatBackendOptions, stream: boolean) {
  return JSON.stringify({
    model: modelId,
    messages,
    max_tokens: options.maxTokens,
    temperature: options.temperature,
    top_p: options.topP,
    stop: options.stop?.length ? options.stop : undefined,
    seed: options.seed,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/** A coded error from a non-2xx answer (the server's problem+json `code` and `detail`). */
async function failure(response: Response): Promise<TunekitError> {
  const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
  return relayedTunekitError({
    code: problem.code ?? 'REMOTE_FAILED',
    status: response.status,
    message: problem.detail ?? `The Tunekit server answered ${response.status}`,
  });
}

/** Generates on a remote Tunekit server through its OpenAI-compatible `/v1/chat/completions`. */
export function remoteChatBackend(options: RemoteChatBackendOptions): ChatBackend {
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  const url = `${options.baseURL.replace(/\/+$/, '')}/v1/chat/completions`;
  const headers = {
    'content-type': 'application/json',
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    ...options.headers,
  };
  return {
    kind: 'remote',
    // The OpenAI-compatible route has no top_k.
    unsupported: ['topK'],
    async generate(modelId, messages, callOptions) {
      const response = await fetchImplementation(url, {
        method: 'POST',
        headers,
        body: body(modelId, messages, callOptions, false),
        signal: callOptions.signal,
      });
      if (!response.ok) throw await failure(response);
      const completion = (await response.json()) as ChatCompletion;
      const choice = completion.choices[0];
      return {
        id: completion.id,
        text: choice?.message.content ?? '',
        finishReason: choice?.finish_reason ?? 'stop',
        inputTokens: completion.usage.prompt_tokens,
        outputTokens: completion.usage.completion_tokens,
      };
    },
    async *stream(modelId, messages, callOptions) {
      const response = await fetchImplementation(url, {
        method: 'POST',
        headers,
        body: body(modelId, messages, callOptions, true),
        signal: callOptions.signal,
      });
      if (!response.ok || !response.body) throw await failure(response);
      let finishReason: 'stop' | 'length' = 'stop';
      let usage: ChatCompletionChunk['usage'];
      for await (const event of parseServerSentEvents(response.body)) {
        if (event.data === '[DONE]') break;
        if (event.event === 'error') {
          const problem = event.data as { code?: string; detail?: string; status?: number };
          throw relayedTunekitError({
            code: problem.code ?? 'REMOTE_FAILED',
            status: problem.status ?? 500,
            message: problem.detail ?? 'The stream failed on the server',
          });
        }
        const chunk = event.data as ChatCompletionChunk;
        usage = chunk.usage ?? usage;
        const choice = chunk.choices[0];
        if (choice?.delta.content) yield { type: 'text', text: choice.delta.content };
        if (choice?.finish_reason) finishReason = choice.finish_reason;
      }
      yield {
        type: 'finish',
        finishReason,
        inputTokens: usage?.prompt_tokens,
        outputTokens: usage?.completion_tokens,
      };
    },
  };
}
