import { type RecordedRequest, RecordingHttpServer } from './recording-http-server.js';

/** A run ("bucket") as stored by the W&B test server. */
export interface WandbTestRun {
  name: string;
  project: string;
  entity: string;
  displayName?: string;
  tags: string[];
  config: Record<string, { value: unknown; desc: null }>;
  /** Lines per streamed file, at the offsets the client sent. */
  files: Record<string, string[]>;
  complete: boolean;
  exitcode?: number;
  heartbeats: number;
  uploads: Record<string, Buffer>;
}

/**
 * The subset of the W&B HTTP protocol the W&B tracker speaks: GraphQL `UpsertBucket` and
 * `RunUploadUrls` at `/graphql`, `file_stream` with per-file line offsets (an offset that does not
 * match the lines already received answers 400), heartbeats, `complete`, and signed-URL uploads.
 */
export class WandbTestServer extends RecordingHttpServer {
  readonly runs = new Map<string, WandbTestRun>();

  constructor(options: { apiKey?: string; defaultEntity?: string } = {}) {
    super(
      (request) => this.route(request),
      options.apiKey === undefined
        ? undefined
        : `Basic ${Buffer.from(`api:${options.apiKey}`).toString('base64')}`,
      '/upload/',
    );
    this.defaultEntity = options.defaultEntity ?? 'test-entity';
  }

  private readonly defaultEntity: string;

  private route(request: RecordedRequest): { status: number; json?: unknown } {
    const url = new URL(request.path, 'http://localhost');
    if (request.method === 'POST' && url.pathname === '/graphql') {
      const { query, variables } = request.json as { query: string; variables: Record<string, unknown> };
      if (query.includes('mutation UpsertBucket')) {
        const entity = (variables.entity as string | undefined) ?? this.defaultEntity;
        const key = `${entity}/${variables.project}/${variables.name}`;
        let run = this.runs.get(key);
        const inserted = !run;
        if (!run) {
          run = {
            name: String(variables.name),
            project: String(variables.project),
            entity,
            tags: [],
            config: {},
            files: {},
            complete: false,
            heartbeats: 0,
            uploads: {},
          };
          this.runs.set(key, run);
        }
        if (variables.displayName !== undefined) run.displayName = String(variables.displayName);
        if (Array.isArray(variables.tags)) run.tags = variables.tags as string[];
        if (typeof variables.config === 'string') run.config = JSON.parse(variables.config);
        return {
          status: 200,
          json: {
            data: {
              upsertBucket: {
                bucket: {
                  id: Buffer.from(key).toString('base64'),
                  name: run.name,
                  displayName: run.displayName,
                  project: { id: 'p1', name: run.project, entity: { id: 'e1', name: run.entity } },
                },
                inserted,
              },
            },
          },
        };
      }
      if (query.includes('query RunUploadUrls')) {
        const files = variables.files as string[];
        const entity = (variables.entity as string | undefined) ?? this.defaultEntity;
        return {
          status: 200,
          json: {
            data: {
              model: {
                bucket: {
                  id: 'b1',
                  files: {
                    edges: files.map((name) => ({
                      node: {
                        name,
                        url: `${this.url}/upload/${entity}/${variables.name}/${variables.run}/${encodeURIComponent(name)}`,
                      },
                    })),
                  },
                },
              },
            },
          },
        };
      }
      return { status: 200, json: { errors: [{ message: 'unknown operation' }] } };
    }
    const stream = /^\/files\/([^/]+)\/([^/]+)\/([^/]+)\/file_stream$/.exec(url.pathname);
    if (request.method === 'POST' && stream) {
      const [entity, project, name] = stream.slice(1).map(decodeURIComponent);
      const run = this.runs.get(`${entity}/${project}/${name}`);
      if (!run) return { status: 404, json: { error: 'run not found' } };
      const body = request.json as {
        files?: Record<string, { offset: number; content: string[] }>;
        complete?: boolean;
        failed?: boolean;
        exitcode?: number;
      };
      for (const [file, chunk] of Object.entries(body.files ?? {})) {
        if (file.endsWith('.json')) {
          run.files[file] = chunk.content;
          continue;
        }
        run.files[file] ??= [];
        const lines = run.files[file];
        if (chunk.offset !== lines.length)
          return { status: 400, json: { error: `bad offset ${chunk.offset} for ${file}` } };
        lines.push(...chunk.content);
      }
      if (!body.files && body.complete === false) run.heartbeats += 1;
      if (body.complete === true) {
        run.complete = true;
        run.exitcode = body.exitcode;
      }
      return { status: 200, json: { limits: {} } };
    }
    const upload = /^\/upload\/([^/]+)\/([^/]+)\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (request.method === 'PUT' && upload) {
      const [entity, project, name, file] = upload.slice(1).map(decodeURIComponent);
      const run = this.runs.get(`${entity}/${project}/${name}`);
      if (!run) return { status: 404, json: { error: 'run not found' } };
      run.uploads[file] = request.body;
      return { status: 200 };
    }
    return { status: 404, json: { error: `no route ${request.method} ${url.pathname}` } };
  }
}
