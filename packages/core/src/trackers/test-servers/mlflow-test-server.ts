import { randomBytes } from 'node:crypto';
import { MlflowLogBatchLimits } from '../mlflow-log-batch.js';
import { type RecordedRequest, RecordingHttpServer } from './recording-http-server.js';

/** A run as stored by the MLflow test server. */
export interface MlflowTestRun {
  runId: string;
  experimentId: string;
  runName?: string;
  status: string;
  startTime?: number;
  endTime?: number;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: Array<{ key: string; value: number; timestamp: number; step: number }>;
}

/**
 * The subset of MLflow's REST API 2.0 that the MLflow tracker uses, implemented in memory with the
 * documented error codes and log-batch limits: experiments get-by-name/create, runs create/update/
 * log-batch, and `PUT` on the mlflow-artifacts proxy.
 */
export class MlflowTestServer extends RecordingHttpServer {
  readonly experiments = new Map<string, { id: string; name: string }>();
  readonly runs = new Map<string, MlflowTestRun>();
  readonly artifacts = new Map<string, Buffer>();
  /** When true, the next experiments/create creates the experiment but answers RESOURCE_ALREADY_EXISTS (a lost race). */
  raceNextCreate = false;

  constructor(options: { authorization?: string } = {}) {
    super((request) => this.route(request), options.authorization);
  }

  private route(request: RecordedRequest): { status: number; json?: unknown } {
    const url = new URL(request.path, 'http://localhost');
    const body = (request.json ?? {}) as Record<string, unknown>;
    const error = (status: number, code: string, message: string) => ({
      status,
      json: { error_code: code, message },
    });
    if (request.method === 'GET' && url.pathname === '/api/2.0/mlflow/experiments/get-by-name') {
      const experiment = this.experiments.get(url.searchParams.get('experiment_name') ?? '');
      if (!experiment) return error(404, 'RESOURCE_DOES_NOT_EXIST', 'Could not find experiment');
      return {
        status: 200,
        json: {
          experiment: { experiment_id: experiment.id, name: experiment.name, lifecycle_stage: 'active' },
        },
      };
    }
    if (request.method === 'POST' && url.pathname === '/api/2.0/mlflow/experiments/create') {
      const name = String(body.name ?? '');
      if (!name) return error(400, 'INVALID_PARAMETER_VALUE', 'Missing value for required parameter name');
      if (this.experiments.has(name) || this.raceNextCreate) {
        if (!this.experiments.has(name))
          this.experiments.set(name, { id: String(this.experiments.size + 1), name });
        this.raceNextCreate = false;
        return error(400, 'RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
      }
      const id = String(this.experiments.size + 1);
      this.experiments.set(name, { id, name });
      return { status: 200, json: { experiment_id: id } };
    }
    if (request.method === 'POST' && url.pathname === '/api/2.0/mlflow/runs/create') {
      const experimentId = String(body.experiment_id ?? '');
      if (![...this.experiments.values()].some((experiment) => experiment.id === experimentId)) {
        return error(404, 'RESOURCE_DOES_NOT_EXIST', 'No experiment');
      }
      const runId = randomBytes(16).toString('hex');
      const tags = Object.fromEntries(
        ((body.tags ?? []) as Array<{ key: string; value: string }>).map((tag) => [tag.key, tag.value]),
      );
      const run: MlflowTestRun = {
        runId,
        experimentId,
        runName: body.run_name as string | undefined,
        status: 'RUNNING',
        startTime: body.start_time as number | undefined,
        tags,
        params: {},
        metrics: [],
      };
      this.runs.set(runId, run);
      return {
        status: 200,
        json: {
          run: {
            info: {
              run_id: runId,
              run_uuid: runId,
              experiment_id: experimentId,
              run_name: run.runName,
              status: 'RUNNING',
              artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
              lifecycle_stage: 'active',
            },
            data: {},
          },
        },
      };
    }
    if (request.method === 'POST' && url.pathname === '/api/2.0/mlflow/runs/update') {
      const run = this.runs.get(String(body.run_id ?? ''));
      if (!run) return error(404, 'RESOURCE_DOES_NOT_EXIST', 'No run');
      if (body.status) run.status = String(body.status);
      if (body.end_time !== undefined) run.endTime = Number(body.end_time);
      return { status: 200, json: { run_info: { run_id: run.runId, status: run.status } } };
    }
    if (request.method === 'POST' && url.pathname === '/api/2.0/mlflow/runs/log-batch') {
      const run = this.runs.get(String(body.run_id ?? ''));
      if (!run) return error(404, 'RESOURCE_DOES_NOT_EXIST', 'No run');
      const metrics = (body.metrics ?? []) as MlflowTestRun['metrics'];
      const params = (body.params ?? []) as Array<{ key: string; value: string }>;
      const tags = (body.tags ?? []) as Array<{ key: string; value: string }>;
      if (metrics.length > MlflowLogBatchLimits.metrics)
        return error(400, 'INVALID_PARAMETER_VALUE', 'too many metrics');
      if (params.length > MlflowLogBatchLimits.params)
        return error(400, 'INVALID_PARAMETER_VALUE', 'too many params');
      if (tags.length > MlflowLogBatchLimits.tags)
        return error(400, 'INVALID_PARAMETER_VALUE', 'too many tags');
      if (metrics.length + params.length + tags.length > MlflowLogBatchLimits.entities) {
        return error(400, 'INVALID_PARAMETER_VALUE', 'too many entities');
      }
      if (request.body.length > MlflowLogBatchLimits.bytes)
        return error(400, 'INVALID_PARAMETER_VALUE', 'request too large');
      for (const param of params) {
        if (param.key in run.params && run.params[param.key] !== param.value) {
          return error(400, 'INVALID_PARAMETER_VALUE', `Changing param values is not allowed (${param.key})`);
        }
      }
      for (const metric of metrics) {
        if (
          typeof metric.value !== 'number' ||
          !Number.isInteger(metric.timestamp) ||
          !Number.isInteger(metric.step)
        ) {
          return error(400, 'INVALID_PARAMETER_VALUE', 'bad metric');
        }
      }
      for (const param of params) run.params[param.key] = param.value;
      for (const tag of tags) run.tags[tag.key] = tag.value;
      run.metrics.push(...metrics);
      return { status: 200, json: {} };
    }
    const artifactPrefix = '/api/2.0/mlflow-artifacts/artifacts/';
    if (request.method === 'PUT' && url.pathname.startsWith(artifactPrefix)) {
      this.artifacts.set(decodeURIComponent(url.pathname.slice(artifactPrefix.length)), request.body);
      return { status: 200, json: {} };
    }
    return error(404, 'ENDPOINT_NOT_FOUND', `No route ${request.method} ${url.pathname}`);
  }
}
