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
