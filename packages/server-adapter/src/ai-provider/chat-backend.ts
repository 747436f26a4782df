/** One chat message as the Tunekit backends take it (text only). */
export interface ChatBackendMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Sampling settings of one call (the AI SDK's call options, Tunekit's names). */
export interface ChatBackendOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  signal?: AbortSignal;
}

/** A finished generation. */
export interface ChatBackendResult {
  text: string;
  finishReason: 'stop' | 'length';
  inputTokens?: number;
  outputTokens?: number;
  /** Response id (remote servers). */
  id?: string;
}

/** A piece of a streamed generation: text, then one final piece with the finish reason and usage. */
export type ChatBackendChunk =
  | { type: 'text'; text: string }
  | { type: 'finish'; finishReason: 'stop' | 'length'; inputTokens?: number; outputTokens?: number };

/** Where a {@link TunekitLanguageModel} generates: a local model cache or a remote Tunekit server. */
export interface ChatBackend {
  /** `local` or `remote`, for the provider name (`tunekit.local`, `tunekit.remote`). */
  readonly kind: 'local' | 'remote';
  /** Sampling settings this backend cannot apply (reported as AI SDK warnings). */
  readonly unsupported: readonly (keyof ChatBackendOptions)[];
  generate(
    modelId: string,
    messages: ChatBackendMessage[],
    options: ChatBackendOptions,
  ): Promise<ChatBackendResult>;
  stream(
    modelId: string,
    messages: ChatBackendMessage[],
    options: ChatBackendOptions,
  ): AsyncIterable<ChatBackendChunk>;
}
