import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './openapi-types.js';

/** Options of {@link createTunekitClient}. */
export interface TunekitClientOptions {
  /** Server URL including any mount prefix, e.g. `http://127.0.0.1:3000/api`. */
  baseUrl: string;
  /** Bearer token (from `/auth/login` or an identity provider). */
  token?: string;
  /** API key (sent as `X-API-Key`). */
  apiKey?: string;
  /** A fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

/** One parsed Server-Sent Event. */
export interface ClientServerSentEvent<T = unknown> {
  event: string;
  data: T;
  id?: string;
}

/** The typed client: openapi-fetch's `GET`/`POST`… over the generated `paths`, plus auth, SSE and upload helpers. */
export interface TunekitClient extends Client<paths> {
  /** Logs in and uses the returned token for later requests; resolves with the token. */
  login(username: string, password: string): Promise<string>;
  /** Sets (or clears) the bearer token. */
  setToken(token: string | undefined): void;
  /**
   * Changes the logged-in user's password (`POST /users/me/password`) and switches to the fresh token
   * it returns: tokens issued before the change stop working. Throws {@link TunekitClientError}.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /** Uploads a dataset file (raw body) and returns the new dataset version. */
  uploadDataset(
    query: paths['/datasets']['post']['parameters']['query'],
    data: string | Uint8Array | Blob,
    contentType?: string,
  ): Promise<paths['/datasets']['post']['responses']['201']['content']['application/json']>;
  /** Follows `GET /train/{id}/events` until the job ends (or the signal aborts). */
  trainingEvents(jobId: string, options?: { signal?: AbortSignal }): AsyncGenerator<ClientServerSentEvent>;
  /** `POST /generate` with `stream: true`: `token` events, then `done`. */
  generateStream(
    body: Omit<paths['/generate']['post']['requestBody']['content']['application/json'], 'stream'>,
    options?: { signal?: AbortSignal },
  ): AsyncGenerator<ClientServerSentEvent>;
}

/** An HTTP error of a client helper, carrying the problem document. */
export class TunekitClientError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { code?: string; detail?: string; [key: string]: unknown },
  ) {
    super(`${status} ${problem.code ?? ''}: ${problem.detail ?? ''}`.trim());
    this.name = 'TunekitClientError';
  }
}

/** Parses a `text/event-stream` body into events. */
export async function* parseServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ClientServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        let event = 'message';
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('id:')) id = line.slice(3).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue;
        const text = data.join('\n');
        // OpenAI-format streams end with a literal `[DONE]`, not JSON.
        yield { event, id, data: text === '[DONE]' ? text : (JSON.parse(text) as unknown) };
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

/**
 * Creates the typed client of a remote Tunekit server.
 *
 * @example
 * ```ts
 * const client = createTunekitClient({ baseUrl: 'http://127.0.0.1:3000' });
 * await client.login('alice', 'secret-password');
 * const { data } = await client.POST('/train', { body: { base_model: 'tiny', dataset_version_id, output_name: 'run-1' } });
 * for await (const event of client.trainingEvents(data!.job_id)) console.log(event.event, event.data);
 * ```
 */
export function createTunekitClient(options: TunekitClientOptions): TunekitClient {
  let token = options.token;
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const authHeaders = (): Record<string, string> => ({
    ...options.headers,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}),
  });
  const client = createClient<paths>({ baseUrl, fetch: fetchImplementation });
  const auth: Middleware = {
    onRequest({ request }) {
      for (const [name, value] of Object.entries(authHeaders())) request.headers.set(name, value);
      return request;
    },
  };
  client.use(auth);

  const stream = async function* (path: string, init: RequestInit): AsyncGenerator<ClientServerSentEvent> {
    const response = await fetchImplementation(`${baseUrl}${path}`, {
      ...init,
      headers: { accept: 'text/event-stream', ...authHeaders(), ...(init.headers as Record<string, string>) },
    });
    if (!response.ok || !response.body) {
      throw new TunekitClientError(
        response.status,
        (await response.json().catch(() => ({}))) as { code?: string },
      );
    }
    yield* parseServerSentEvents(response.body);
  };

  return Object.assign(client, {
    async login(username: string, password: string) {
      const { data, error, response } = await client.POST('/auth/login', { body: { username, password } });
      if (!data) throw new TunekitClientError(response.status, (error ?? {}) as { code?: string });
      token = data.access_token;
      return token;
    },
    setToken(next: string | undefined) {
      token = next;
    },
    async changePassword(currentPassword: string, newPassword: string) {
      const { data, error, response } = await client.POST('/users/me/password', {
        body: { current_password: currentPassword, new_password: newPassword },
      });
      if (!data) throw new TunekitClientError(response.status, (error ?? {}) as { code?: string });
      if (data.access_token) token = data.access_token;
    },
    async uploadDataset(
      query: paths['/datasets']['post']['parameters']['query'],
      data: string | Uint8Array | Blob,
      contentType = 'application/octet-stream',
    ) {
      const search = new URLSearchParams(
        Object.entries(query)
          .filter((entry): entry is [string, string] => entry[1] !== undefined)
          .map(([key, value]): [string, string] => [key, String(value)]),
      );
      const response = await fetchImplementation(`${baseUrl}/datasets?${search}`, {
        method: 'POST',
        headers: { 'content-type': contentType, ...authHeaders() },
        body: data as Blob,
      });
      const body = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new TunekitClientError(response.status, body);
      return body as never;
    },
    trainingEvents(jobId: string, streamOptions: { signal?: AbortSignal } = {}) {
      return stream(`/train/${encodeURIComponent(jobId)}/events`, {
        method: 'GET',
        signal: streamOptions.signal,
      });
    },
    generateStream(body: Record<string, unknown>, streamOptions: { signal?: AbortSignal } = {}) {
      return stream('/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true }),
        signal: streamOptions.signal,
      });
    },
  }) as TunekitClient;
}
