import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the test server received it. */
export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  authorization?: string;
  contentType?: string;
  /** Parsed JSON body, when the body was JSON. */
  json?: unknown;
  /** Raw body bytes. */
  body: Buffer;
  /** The status the server answered. */
  status?: number;
}

/** A route handler: returns status and JSON (or undefined for an empty body). */
export type TestRouteHandler = (request: RecordedRequest) => { status: number; json?: unknown };

/**
 * A node:http server on 127.0.0.1 for tracker tests: records every request, checks an expected
 * `Authorization` header (401 otherwise), can fail the next N requests with a status, and can be
 * stopped (connection refused) and restarted on the same port.
 */
export class RecordingHttpServer {
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private port = 0;
  private failures: Array<{ status: number; json: unknown }> = [];

  constructor(
    private readonly handler: TestRouteHandler,
    private readonly expectedAuthorization?: string,
    /** Path prefix served without the auth check (signed upload URLs). */
    private readonly publicPrefix?: string,
  ) {}

  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and every open connection (clients then get connection refused). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `count` requests answer `status` (with an MLflow-style error body). */
  failNext(
    count: number,
    status: number,
    json: unknown = { error_code: 'INTERNAL_ERROR', message: 'injected failure' },
  ): void {
    for (let index = 0; index < count; index += 1) this.failures.push({ status, json });
  }

  /** Requests whose path starts with the prefix (query ignored when `exact` is false). */
  requestsTo(prefix: string, method?: string): RecordedRequest[] {
    return this.requests.filter(
      (request) => request.path.startsWith(prefix) && (!method || request.method === method),
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      body,
    };
    if (recorded.contentType?.includes('application/json') && body.length > 0) {
      recorded.json = JSON.parse(body.toString('utf8'));
    }
    this.requests.push(recorded);
    let status: number;
    let json: unknown;
    const failure = this.failures.shift();
    if (failure) {
      ({ status, json } = failure);
    } else if (
      this.expectedAuthorization !== undefined &&
      recorded.authorization !== this.expectedAuthorization &&
      !(this.publicPrefix && recorded.path.startsWith(this.publicPrefix))
    ) {
      status = 401;
      json = { error_code: 'UNAUTHENTICATED', message: 'bad credentials' };
    } else {
      ({ status, json } = this.handler(recorded));
    }
    recorded.status = status;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(json === undefined ? '' : JSON.stringify(json));
  }
}
