// @tunekit/server-adapter/client: the typed HTTP client.
export {
  type ClientServerSentEvent,
  createTunekitClient,
  parseServerSentEvents,
  type TunekitClient,
  TunekitClientError,
  type TunekitClientOptions,
} from './create-tunekit-client.js';
export type { components, operations, paths } from './openapi-types.js';
