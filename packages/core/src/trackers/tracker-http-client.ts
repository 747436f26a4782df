import { tunekitError } from '../errors/tunekit-error.js';

/** Options of {@link createTrackerHttpClient}. */
export interface TrackerHttpClientOptions {
  /** Tracker kind, used in error details (`mlflow`, `wandb`). */
  tracker: string;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  /** Value of the `Authorization` header, when any. */
  authorization?: string;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Per-request timeout in milliseconds (default 15000). */
  timeoutMs?: number;
  /** The fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
}

/** One request. */
export interface TrackerHttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path (and query) appended to the base URL, or an absolute URL. */
  path: string;
  /** JSON body (serialized with `JSON.stringify`). */
  json?: unknown;
  /** Raw body. */
  body?: Uint8Array;
  headers?: Record<string, string>;
  /** Sends no `Authorization` header (signed upload URLs carry their own credentials). */
  anonymous?: boolean;
}

/** A response whose status was 2xx. */
export interface TrackerHttpResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
}

/** A small fetch wrapper shared by the HTTP trackers. */
export interface TrackerHttpClient {
  /** Sends the request; throws `TRACKER_REQUEST_FAILED` on a network error or a non-2xx status. */
  request(request: TrackerHttpRequest): Promise<TrackerHttpResponse>;
}

/**
 * Whether a status is worth retrying: 408, 429 and 5xx are transient; other 4xx (bad request,
 * bad credentials, not found, conflict) are not.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Creates the fetch wrapper used by the MLflow and W&B trackers. */
export function createTrackerHttpClient(options: TrackerHttpClientOptions): TrackerHttpClient {
  const fetchFunction = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  return {
    async request(request) {
      const url = /^https?:\/\//.test(request.path) ? request.path : `${options.baseUrl}${request.path}`;
      const headers: Record<string, string> = { ...options.headers, ...request.headers };
      if (options.authorization && !request.anonymous) headers.authorization = options.authorization;
      let body: string | Uint8Array | undefined;
      if (request.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request.json);
      } else if (request.body !== undefined) {
        headers['content-type'] ??= 'application/octet-stream';
        body = request.body;
      }
      let response: Response;
      try {
        response = await fetchFunction(url, {
          method: request.method,
          headers,
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw tunekitError(
          'TRACKER_REQUEST_FAILED',
          `${options.tracker}: ${request.method} ${pathOf(url)} failed: ${describe(error)}`,
          { tracker: options.tracker, method: request.method, path: pathOf(url), retryable: true },
          { cause: error },
        );
      }
      const text = await response.text();
      let parsed: unknown;
      if (text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      if (!response.ok) {
        const errorBody = (parsed ?? {}) as { error_code?: unknown; message?: unknown; error?: unknown };
        const serverMessage =
          typeof errorBody.message === 'string'
            ? errorBody.message
            : typeof errorBody.error === 'string'
              ? errorBody.error
              : text.slice(0, 200);
        throw tunekitError(
          'TRACKER_REQUEST_FAILED',
          `${options.tracker}: ${request.method} ${pathOf(url)} answered ${response.status}: ${serverMessage}`,
          {
            tracker: options.tracker,
            method: request.method,
            path: pathOf(url),
            httpStatus: response.status,
            errorCode: typeof errorBody.error_code === 'string' ? errorBody.error_code : undefined,
            retryable: isRetryableStatus(response.status),
          },
        );
      }
      return { status: response.status, body: parsed };
    },
  };
}

/** The `Authorization` header value for HTTP basic auth. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname;
  } catch {
    return url;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${error.message} (${cause.code})`;
    return error.message;
  }
  return String(error);
}
