import { readFile } from 'node:fs/promises';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { chunkLogBatch, type MlflowKeyValue, type MlflowMetric } from './mlflow-log-batch.js';
import { type Tracker, type TrackerRun, toUpperStatus } from './tracker.js';
import {
  basicAuthorization,
  createTrackerHttpClient,
  type TrackerHttpClient,
} from './tracker-http-client.js';

/** Options of {@link createMlflowTracker}. */
export interface MlflowTrackerOptions {
  /** Tracking server URL, e.g. `http://127.0.0.1:5000` (default `MLFLOW_TRACKING_URI`). */
  url?: string;
  /** Bearer token (default `MLFLOW_TRACKING_TOKEN`). */
  token?: string;
  /** Basic-auth user (default `MLFLOW_TRACKING_USERNAME`). */
  username?: string;
  /** Basic-auth password (default `MLFLOW_TRACKING_PASSWORD`). */
  password?: string;
  /** Artifact location for experiments this tracker creates (the server decides when omitted). */
  artifactLocation?: string;
  /** Longest param value sent; longer values are cut (MLflow servers accept 6000, older ones 250). */
  maxParamValueLength?: number;
  /** Per-request timeout in milliseconds (default 15000). */
  timeoutMs?: number;
  /** Environment to read defaults from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
}

const apiPrefix = '/api/2.0/mlflow';
const artifactsPrefix = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * A tracker that logs to an MLflow tracking server over its REST API 2.0: experiments are looked up
 * by name and created when missing (a concurrent create is handled), runs are created and updated,
 * params/metrics/tags go through `runs/log-batch` split within its limits, and artifacts are uploaded
 * with `PUT /api/2.0/mlflow-artifacts/artifacts/…` (the server must run with `--serve-artifacts`).
 */
export function createMlflowTracker(options: MlflowTrackerOptions = {}): Tracker {
  const env = options.env ?? process.env;
  const url = (options.url ?? env.MLFLOW_TRACKING_URI ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url)) {
    throw tunekitError(
      'VALIDATION_FAILED',
      'MLflow tracker: `url` (or MLFLOW_TRACKING_URI) must be an http(s) URL',
      { url },
    );
  }
  const token = options.token ?? env.MLFLOW_TRACKING_TOKEN;
  const username = options.username ?? env.MLFLOW_TRACKING_USERNAME;
  const password = options.password ?? env.MLFLOW_TRACKING_PASSWORD;
  const authorization = token
    ? `Bearer ${token}`
    : username !== undefined
      ? basicAuthorization(username, password ?? '')
      : undefined;
  const http = createTrackerHttpClient({
    tracker: 'mlflow',
    baseUrl: url,
    authorization,
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
  });
  const maxParamValueLength = options.maxParamValueLength ?? 6000;
  const experimentIds = new Map<string, Promise<string>>();

  const experimentId = (name: string): Promise<string> => {
    let pending = experimentIds.get(name);
    if (!pending) {
      pending = getOrCreateExperiment(http, name, options.artifactLocation);
      experimentIds.set(name, pending);
      pending.catch(() => experimentIds.delete(name));
    }
    return pending;
  };

  return {
    kind: 'mlflow',
    async startRun(start) {
      const experiment = await experimentId(start.experiment);
      const tags = Object.entries(start.tags ?? {}).map(([key, value]) => ({ key, value: String(value) }));
      const created = await http.request({
        method: 'POST',
        path: `${apiPrefix}/runs/create`,
        json: {
          experiment_id: experiment,
          ...(start.name ? { run_name: start.name } : {}),
          start_time: Date.now(),
          tags,
        },
      });
      const info = (created.body as { run?: { info?: { run_id?: string; artifact_uri?: string } } })?.run
        ?.info;
      if (!info?.run_id) {
        throw tunekitError('TRACKER_REQUEST_FAILED', 'mlflow: runs/create answered without run.info.run_id', {
          tracker: 'mlflow',
          retryable: false,
        });
      }
      return createMlflowRun(http, experiment, info.run_id, info.artifact_uri, maxParamValueLength);
    },
  };
}

async function getOrCreateExperiment(
  http: TrackerHttpClient,
  name: string,
  artifactLocation: string | undefined,
): Promise<string> {
  const existing = await getExperimentByName(http, name);
  if (existing) return existing;
  try {
    const created = await http.request({
      method: 'POST',
      path: `${apiPrefix}/experiments/create`,
      json: { name, ...(artifactLocation ? { artifact_location: artifactLocation } : {}) },
    });
    const id = (created.body as { experiment_id?: string })?.experiment_id;
    if (id) return String(id);
  } catch (error) {
    // Another client created it between our lookup and create: read it again.
    if (!(TunekitError.isInstance(error) && error.details.errorCode === 'RESOURCE_ALREADY_EXISTS'))
      throw error;
  }
  const raced = await getExperimentByName(http, name);
  if (raced) return raced;
  throw tunekitError(
    'TRACKER_REQUEST_FAILED',
    `mlflow: experiment "${name}" could be neither found nor created`,
    { tracker: 'mlflow', retryable: true },
  );
}

async function getExperimentByName(http: TrackerHttpClient, name: string): Promise<string | undefined> {
  try {
    const response = await http.request({
      method: 'GET',
      path: `${apiPrefix}/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
    });
    const id = (response.body as { experiment?: { experiment_id?: string } })?.experiment?.experiment_id;
    return id === undefined ? undefined : String(id);
  } catch (error) {
    if (TunekitError.isInstance(error) && error.details.errorCode === 'RESOURCE_DOES_NOT_EXIST')
      return undefined;
    throw error;
  }
}

function createMlflowRun(
  http: TrackerHttpClient,
  experimentId: string,
  runId: string,
  artifactUri: string | undefined,
  maxParamValueLength: number,
): TrackerRun {
  const logBatch = async (batch: {
    metrics?: MlflowMetric[];
    params?: MlflowKeyValue[];
    tags?: MlflowKeyValue[];
  }) => {
    for (const chunk of chunkLogBatch(batch)) {
      await http.request({
        method: 'POST',
        path: `${apiPrefix}/runs/log-batch`,
        json: { run_id: runId, ...chunk },
      });
    }
  };
  const artifactRoot = artifactPathOf(artifactUri) ?? `${experimentId}/${runId}/artifacts`;
  return {
    id: runId,
    async logParams(params) {
      const list = Object.entries(params).map(([key, value]) => ({
        key,
        value: stringifyParam(value).slice(0, maxParamValueLength),
      }));
      await logBatch({ params: list });
    },
    async logMetrics(metrics) {
      const now = Date.now();
      const list: MlflowMetric[] = [];
      for (const metric of metrics) {
        // JSON cannot carry NaN or infinities; MLflow's own JSON client cannot either.
        if (!Number.isFinite(metric.value)) continue;
        list.push({
          key: metric.key,
          value: metric.value,
          timestamp: Math.trunc(metric.timestamp ?? now),
          step: Math.trunc(metric.step ?? 0),
        });
      }
      await logBatch({ metrics: list });
    },
    async logArtifact(name, source) {
      const bytes = source instanceof Uint8Array ? source : new Uint8Array(await readFile(source.path));
      const path = `${artifactRoot}/${name.split('/').map(encodeURIComponent).join('/')}`;
      await http.request({ method: 'PUT', path: `${artifactsPrefix}/${path}`, body: bytes });
    },
    async setTags(tags) {
      await logBatch({ tags: Object.entries(tags).map(([key, value]) => ({ key, value: String(value) })) });
    },
    async log() {
      // MLflow runs have no log stream; log lines are kept by the local tracker.
    },
    async setStatus(status) {
      await http.request({
        method: 'POST',
        path: `${apiPrefix}/runs/update`,
        json: { run_id: runId, status: toUpperStatus(status) },
      });
    },
    async end(status, summary) {
      if (summary && Object.keys(summary).length > 0) {
        await logBatch({
          tags: Object.entries(summary).map(([key, value]) => ({
            key: `tunekit.summary.${key}`,
            value: stringifyParam(value).slice(0, 5000),
          })),
        });
      }
      await http.request({
        method: 'POST',
        path: `${apiPrefix}/runs/update`,
        json: { run_id: runId, status: toUpperStatus(status), end_time: Date.now() },
      });
    },
  };
}

/** `mlflow-artifacts:/1/abc/artifacts` or `mlflow-artifacts://host/1/abc/artifacts` → `1/abc/artifacts`. */
function artifactPathOf(artifactUri: string | undefined): string | undefined {
  if (!artifactUri?.startsWith('mlflow-artifacts:')) return undefined;
  const rest = artifactUri.slice('mlflow-artifacts:'.length);
  const path = rest.startsWith('//') ? rest.slice(2).replace(/^[^/]*/, '') : rest;
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed.length > 0 ? trimmed : undefined;
}

function stringifyParam(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value) ?? String(value);
}
