import type { Tunekit } from '@tunekit/core';
import { createModelCache, type ModelCache, type ServedModelInput } from '../inference/model-cache.js';
import type { ChatBackend } from './chat-backend.js';
import { localChatBackend } from './local-chat-backend.js';
import { type RemoteChatBackendOptions, remoteChatBackend } from './remote-chat-backend.js';
import { TunekitLanguageModel } from './tunekit-language-model.js';

/** Options of a provider over local models: a kit (and its registry), plus model folders by id. */
export interface LocalTunekitProviderOptions {
  /** The kit whose registry versions and `job:<id>` outputs are served. */
  kit: Tunekit;
  /** Model folders by id, as the server's `models` option. */
  models?: Record<string, ServedModelInput>;
}

/** A Tunekit provider for the Vercel AI SDK: call it with a model id to get a language model. */
export interface TunekitProvider {
  (modelId: string): TunekitLanguageModel;
  /** The same as calling the provider. */
  languageModel(modelId: string): TunekitLanguageModel;
  /** Releases local models (no-op for a remote server). */
  close(): Promise<void>;
}

/**
 * Creates an AI SDK provider over Tunekit models: local ones (`{ kit, models }`: generation in this
 * process, through the same model cache as the server) or a remote Tunekit server
 * (`{ baseURL, apiKey }`: its OpenAI-compatible `/v1/chat/completions`).
 *
 * @example
 * ```ts
 * import { generateText, streamText } from 'ai';
 * const tunekit = createTunekitProvider({ baseURL: 'http://127.0.0.1:3000', apiKey: process.env.TUNEKIT_API_KEY });
 * const { text } = await generateText({ model: tunekit('notes-lora'), prompt: 'Summarise my notes' });
 * ```
 */
export function createTunekitProvider(
  options: LocalTunekitProviderOptions | RemoteChatBackendOptions,
): TunekitProvider {
  let cache: ModelCache | undefined;
  let backend: ChatBackend;
  if ('kit' in options) {
    cache = createModelCache(options.kit, options.models);
    backend = localChatBackend(cache);
  } else {
    backend = remoteChatBackend(options);
  }
  const languageModel = (modelId: string) => new TunekitLanguageModel(modelId, backend);
  return Object.assign(languageModel, {
    languageModel,
    close: async () => {
      await cache?.close();
    },
  });
}
