/**
 * `@tunekit/server-adapter/testing`: the API on an ephemeral 127.0.0.1 port, behind the Fastify
 * adapter or an Express 5 app, for integration tests and benchmarks of a host application.
 *
 * @module @tunekit/server-adapter/testing
 */
export { type AdapterName, type RunningTestServer, startTestServer } from './start-test-server.js';
