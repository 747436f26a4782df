/**
 * `@tunekit/server-adapter/client`: The typed HTTP client (openapi-fetch over the generated OpenAPI
 * types) and its SSE reader.
 *
 * Guides: [server](../../../../docs/server.md).
 *
 * @module @tunekit/server-adapter/client
 */
export {
  type ClientServerSentEvent,
  createTunekitClient,
  parseServerSentEvents,
  type TunekitClient,
  TunekitClientError,
  type TunekitClientOptions,
} from './create-tunekit-client.js';
export type { components, operations, paths } from './openapi-types.js';
