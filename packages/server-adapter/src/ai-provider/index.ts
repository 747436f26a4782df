/**
 * `@tunekit/server-adapter/ai-provider`: A Vercel AI SDK provider over Tunekit models, local or behind
 * a Tunekit server.
 *
 * Guides: [server](../../../../docs/server.md).
 *
 * @module @tunekit/server-adapter/ai-provider
 */
export type {
  ChatBackend,
  ChatBackendChunk,
  ChatBackendMessage,
  ChatBackendOptions,
  ChatBackendResult,
} from './chat-backend.js';
export {
  createTunekitProvider,
  type LocalTunekitProviderOptions,
  type TunekitProvider,
} from './create-tunekit-provider.js';
export { localChatBackend } from './local-chat-backend.js';
export { type RemoteChatBackendOptions, remoteChatBackend } from './remote-chat-backend.js';
export { TunekitLanguageModel } from './tunekit-language-model.js';
