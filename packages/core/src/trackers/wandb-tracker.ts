import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tunekitError } from '../errors/tunekit-error.js';
import type { MetricPoint, Tracker, TrackerArtifactSource, TrackerLogEntry, TrackerRun } from './tracker.js';
import {
  basicAuthorization,
  createTrackerHttpClient,
  type TrackerHttpClient,
} from './tracker-http-client.js';

/** Options of {@link createWandbTracker}. */
export interface WandbTrackerOptions {
  /** API key (default `WANDB_API_KEY`); required online. */
  apiKey?: string;
  /** Entity (user or team); the key's default entity when omitted (default `WANDB_ENTITY`). */
  entity?: string;
  /** Project; the run's experiment name when omitted (default `WANDB_PROJECT`). */
  project?: string;
  /** API base URL (default `WANDB_BASE_URL` or `https://api.wandb.ai`). */
  baseUrl?: string;
  /** `online` talks to the server; `offline` writes a local run folder (default `WANDB_MODE` or online). */
  mode?: 'online' | 'offline';
  /** Folder of offline runs (default `./wandb`). */
  directory?: string;
  /** Interval of `file_stream` heartbeats while a run is open (default 30000 ms; 0 disables). */
  heartbeatIntervalMs?: number;
  /** Per-request timeout in milliseconds (default 15000). */
  timeoutMs?: number;
  /** Environment to read defaults from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
}

/** The GraphQL mutation the W&B clients use to create or update a run ("bucket"). */
export const wandbUpsertBucketMutation = `mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, $displayName: String, $config: JSONString, $tags: [String!], $summaryMetrics: JSONString) {
  upsertBucket(input: {id: $id, name: $name, modelName: $project, entityName: $entity, displayName: $displayName, config: $config, tags: $tags, summaryMetrics: $summaryMetrics}) {
    bucket { id name displayName project { id name entity { id name } } }
    inserted
  }
}`;

/** The GraphQL query that returns signed upload URLs for run files. */
export const wandbRunUploadUrlsQuery = `query RunUploadUrls($name: String!, $files: [String]!, $entity: String, $run: String!) {
  model(name: $name, entityName: $entity) {
    bucket(name: $run) { id files(names: $files) { edges { node { name url(upload: true) } } } }
  }
}`;

/**
 * A Weights & Biases tracker speaking the HTTP protocol the official clients use: the run is
 * created with the GraphQL `UpsertBucket` mutation, history/summary/log lines are streamed with
 * `POST /files/{entity}/{project}/{run}/file_stream` (line offsets per file), heartbeats keep the
 * run alive, and `{"complete": true, "exitcode": n}` finishes it. Auth is basic `api:<key>`.
 * Artifacts are uploaded as run files (signed URLs from `RunUploadUrls`), not W&B Artifacts.
 *
 * In `offline` mode nothing leaves the machine: each run is a folder with `config.json`,
 * `wandb-history.jsonl`, `wandb-summary.json`, `output.log`, `wandb-metadata.json` and `files/`.
 * (The official npm `@wandb/sdk` is beta and unmaintained, so this speaks the protocol itself.)
 */
export function createWandbTracker(options: WandbTrackerOptions = {}): Tracker {
  const env = options.env ?? process.env;
  const mode = options.mode ?? (env.WANDB_MODE === 'offline' ? 'offline' : 'online');
  const apiKey = options.apiKey ?? env.WANDB_API_KEY;
  const entity = options.entity ?? env.WANDB_ENTITY;
  const project = options.project ?? env.WANDB_PROJECT;
  const baseUrl = (options.baseUrl ?? env.WANDB_BASE_URL ?? 'https://api.wandb.ai').replace(/\/+$/, '');
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000;
  if (mode === 'offline') {
    const directory = options.directory ?? 'wandb';
    return {
      kind: 'wandb',
      async startRun(start) {
        const id = randomRunId();
        const folder = join(directory, `offline-run-${compactTime(new Date())}-${id}`);
        await mkdir(join(folder, 'files'), { recursive: true });
        const run = createOfflineRun(folder, id);
        await writeFile(
          join(folder, 'wandb-metadata.json'),
          `${JSON.stringify({ id, project: project ?? start.experiment, entity, displayName: start.name, tags: tagList(start.tags), startedAt: new Date().toISOString() }, null, 2)}\n`,
        );
        return run;
      },
    };
  }
  if (!apiKey) {
    throw tunekitError(
      'VALIDATION_FAILED',
      'W&B tracker: an API key is required online (option `apiKey` or WANDB_API_KEY)',
      {},
    );
  }
  const http = createTrackerHttpClient({
    tracker: 'wandb',
    baseUrl,
    authorization: basicAuthorization('api', apiKey),
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
  });
  const openRuns = new Set<{ stopHeartbeat(): void }>();
  return {
    kind: 'wandb',
    async startRun(start) {
      const id = randomRunId();
      const projectName = project ?? start.experiment;
      const response = await graphql(http, wandbUpsertBucketMutation, {
        name: id,
        project: projectName,
        entity,
        displayName: start.name,
        tags: tagList(start.tags),
        config: JSON.stringify({}),
      });
      const bucket = (
        response as {
          upsertBucket?: {
            bucket?: { name?: string; project?: { name?: string; entity?: { name?: string } } };
          };
        }
      )?.upsertBucket?.bucket;
      const runEntity = bucket?.project?.entity?.name ?? entity;
      if (!runEntity) {
        throw tunekitError(
          'TRACKER_REQUEST_FAILED',
          'wandb: UpsertBucket answered without an entity and none was configured',
          { tracker: 'wandb', retryable: false },
        );
      }
      const run = createOnlineRun(http, {
        id: bucket?.name ?? id,
        entity: runEntity,
        project: bucket?.project?.name ?? projectName,
        tags: tagList(start.tags),
        heartbeatIntervalMs,
        onClosed: (handle) => openRuns.delete(handle),
      });
      openRuns.add(run.heartbeat);
      return run.run;
    },
    async close() {
      for (const run of openRuns) run.stopHeartbeat();
      openRuns.clear();
    },
  };
}

interface OnlineRunOptions {
  id: string;
  entity: string;
  project: string;
  tags: string[];
  heartbeatIntervalMs: number;
  onClosed(handle: { stopHeartbeat(): void }): void;
}

function createOnlineRun(
  http: TrackerHttpClient,
  options: OnlineRunOptions,
): { run: TrackerRun; heartbeat: { stopHeartbeat(): void } } {
  const streamPath = `/files/${encodeURIComponent(options.entity)}/${encodeURIComponent(options.project)}/${encodeURIComponent(options.id)}/file_stream`;
  const offsets = { history: 0, log: 0 };
  const summary: Record<string, unknown> = {};
  const config: Record<string, { value: unknown; desc: null }> = {};
  let tags = [...options.tags];
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const heartbeat = {
    stopHeartbeat() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  if (options.heartbeatIntervalMs > 0) {
    timer = setInterval(() => {
      // Keep-alive only: a failure here shows up on the next real request.
      http
        .request({ method: 'POST', path: streamPath, json: { complete: false, failed: false } })
        .catch(() => {});
    }, options.heartbeatIntervalMs);
    timer.unref();
  }
  const upsert = (variables: Record<string, unknown>) =>
    graphql(http, wandbUpsertBucketMutation, {
      name: options.id,
      project: options.project,
      entity: options.entity,
      ...variables,
    });
  const run: TrackerRun = {
    id: options.id,
    async logParams(params) {
      for (const [key, value] of Object.entries(params)) config[key] = { value, desc: null };
      await upsert({ config: JSON.stringify(config) });
    },
    async logMetrics(metrics) {
      const rows = historyRows(metrics, startedAt);
      if (rows.length === 0) return;
      for (const row of rows) Object.assign(summary, withoutInternal(row));
      await http.request({
        method: 'POST',
        path: streamPath,
        json: {
          files: {
            'wandb-history.jsonl': {
              offset: offsets.history,
              content: rows.map((row) => JSON.stringify(row)),
            },
            'wandb-summary.json': { offset: 0, content: [JSON.stringify(summary)] },
          },
        },
      });
      offsets.history += rows.length;
    },
    async logArtifact(name, source) {
      const bytes = await bytesOf(source);
      const response = await graphql(http, wandbRunUploadUrlsQuery, {
        name: options.project,
        entity: options.entity,
        run: options.id,
        files: [name],
      });
      const edges = (
        response as {
          model?: { bucket?: { files?: { edges?: Array<{ node?: { name?: string; url?: string } }> } } };
        }
      )?.model?.bucket?.files?.edges;
      const url = edges?.find((edge) => edge.node?.name === name)?.node?.url;
      if (!url) {
        throw tunekitError('TRACKER_REQUEST_FAILED', `wandb: no upload URL returned for "${name}"`, {
          tracker: 'wandb',
          retryable: false,
        });
      }
      await http.request({ method: 'PUT', path: url, body: bytes, anonymous: true });
    },
    async setTags(newTags) {
      const added = tagList(newTags);
      tags = [...tags.filter((tag) => !added.some((candidate) => sameTagKey(candidate, tag))), ...added];
      await upsert({ tags });
    },
    async log(entries) {
      if (entries.length === 0) return;
      const lines = entries.map(formatLogLine);
      await http.request({
        method: 'POST',
        path: streamPath,
        json: { files: { 'output.log': { offset: offsets.log, content: lines } } },
      });
      offsets.log += lines.length;
    },
    async setStatus() {
      // W&B derives run state from the file stream (heartbeats, then `complete`); nothing to send.
    },
    async end(status, finalSummary) {
      if (finalSummary) Object.assign(summary, finalSummary);
      heartbeat.stopHeartbeat();
      options.onClosed(heartbeat);
      await http.request({
        method: 'POST',
        path: streamPath,
        json: { files: { 'wandb-summary.json': { offset: 0, content: [JSON.stringify(summary)] } } },
      });
      await http.request({
        method: 'POST',
        path: streamPath,
        json: { complete: true, exitcode: status === 'finished' ? 0 : 1 },
      });
    },
  };
  return { run, heartbeat };
}

function createOfflineRun(folder: string, id: string): TrackerRun {
  const startedAt = Date.now();
  const summary: Record<string, unknown> = {};
  const config: Record<string, { value: unknown; desc: null }> = {};
  const writeSummary = () => writeFile(join(folder, 'wandb-summary.json'), `${JSON.stringify(summary)}\n`);
  return {
    id,
    async logParams(params) {
      for (const [key, value] of Object.entries(params)) config[key] = { value, desc: null };
      await writeFile(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    },
    async logMetrics(metrics) {
      const rows = historyRows(metrics, startedAt);
      if (rows.length === 0) return;
      for (const row of rows) Object.assign(summary, withoutInternal(row));
      await appendFile(
        join(folder, 'wandb-history.jsonl'),
        rows.map((row) => `${JSON.stringify(row)}\n`).join(''),
      );
      await writeSummary();
    },
    async logArtifact(name, source) {
      const target = join(folder, 'files', ...name.split('/').filter((part) => part !== '..' && part !== ''));
      await mkdir(dirname(target), { recursive: true });
      if (source instanceof Uint8Array) await writeFile(target, source);
      else await copyFile(source.path, target);
    },
    async setTags(tags) {
      await appendFile(join(folder, 'output.log'), `tags ${JSON.stringify(tagList(tags))}\n`);
    },
    async log(entries) {
      await appendFile(
        join(folder, 'output.log'),
        entries.map((entry) => `${formatLogLine(entry)}\n`).join(''),
      );
    },
    async setStatus() {},
    async end(status, finalSummary) {
      if (finalSummary) Object.assign(summary, finalSummary);
      summary._status = status;
      await writeSummary();
    },
  };
}

async function graphql(
  http: TrackerHttpClient,
  query: string,
  variables: Record<string, unknown>,
): Promise<unknown> {
  const response = await http.request({ method: 'POST', path: '/graphql', json: { query, variables } });
  const body = response.body as { data?: unknown; errors?: Array<{ message?: string }> } | undefined;
  if (body?.errors && body.errors.length > 0) {
    throw tunekitError(
      'TRACKER_REQUEST_FAILED',
      `wandb: GraphQL error: ${body.errors.map((error) => error.message).join('; ')}`,
      { tracker: 'wandb', retryable: false },
    );
  }
  return body?.data;
}

/** Groups metric points by step into W&B history rows (`_step`, `_timestamp` in seconds, `_runtime`). */
function historyRows(metrics: MetricPoint[], startedAt: number): Array<Record<string, number>> {
  const byStep = new Map<number, Record<string, number>>();
  for (const metric of metrics) {
    const step = Math.trunc(metric.step ?? 0);
    const timestamp = metric.timestamp ?? Date.now();
    let row = byStep.get(step);
    if (!row) {
      row = {
        _step: step,
        _timestamp: timestamp / 1000,
        _runtime: Math.max(0, (timestamp - startedAt) / 1000),
      };
      byStep.set(step, row);
    }
    row[metric.key] = metric.value;
  }
  return [...byStep.values()].sort((a, b) => a._step - b._step);
}

function withoutInternal(row: Record<string, number>): Record<string, number> {
  const copy: Record<string, number> = {};
  for (const [key, value] of Object.entries(row))
    if (!key.startsWith('_') || key === '_step') copy[key] = value;
  return copy;
}

function tagList(tags: Record<string, string> | undefined): string[] {
  return Object.entries(tags ?? {}).map(([key, value]) => (value === '' ? key : `${key}:${value}`));
}

function sameTagKey(a: string, b: string): boolean {
  return a.split(':')[0] === b.split(':')[0];
}

function formatLogLine(entry: TrackerLogEntry): string {
  const fields =
    entry.fields && Object.keys(entry.fields).length > 0 ? ` ${JSON.stringify(entry.fields)}` : '';
  return `${new Date(entry.timestamp).toISOString()} ${entry.level.toUpperCase()} ${entry.message}${fields}`;
}

async function bytesOf(source: TrackerArtifactSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  const { readFile } = await import('node:fs/promises');
  return new Uint8Array(await readFile(source.path));
}

function randomRunId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(8)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function compactTime(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '_');
}
