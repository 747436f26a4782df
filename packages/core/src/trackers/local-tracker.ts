import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tunekitError } from '../errors/tunekit-error.js';
import type { MetricPoint, Tracker, TrackerFinalStatus, TrackerRun, TrackerRunStatus } from './tracker.js';

/** Options of {@link createLocalTracker}. */
export interface LocalTrackerOptions {
  /** Folder that holds one sub-folder per run. */
  directory: string;
}

/** The `config.json` of a local run. */
export interface LocalRunConfig {
  id: string;
  experiment: string;
  name?: string;
  tags: Record<string, string>;
  params: Record<string, unknown>;
  status: TrackerRunStatus;
  startedAt: string;
  endedAt?: string;
}

/** Final and best value of one metric. */
export interface LocalMetricSummary {
  final: number;
  finalStep: number;
  best: number;
  bestStep: number;
  /** Whether lower (`min`) or higher (`max`) is better for this key. */
  goal: 'min' | 'max';
  count: number;
}

/** The `summary.json` written when a local run ends. */
export interface LocalRunSummary {
  status: TrackerFinalStatus;
  endedAt: string;
  durationMs: number;
  metrics: Record<string, LocalMetricSummary>;
  /** What the caller passed to `end`. */
  values: Record<string, unknown>;
}

/** A run as listed by {@link LocalTracker.listRuns}. */
export interface LocalRunInfo extends LocalRunConfig {
  summary?: LocalRunSummary;
}

/** The result of {@link LocalTracker.compareRuns}. */
export interface LocalRunComparison {
  runs: Array<{ id: string; name?: string; experiment: string; status: TrackerRunStatus }>;
  /** Params whose values differ between the runs (or are missing in some), by key then run id. */
  paramsDiff: Record<string, Record<string, unknown>>;
  /** Params equal in every run. */
  paramsCommon: Record<string, unknown>;
  /** Final and best values by metric key then run id (computed from `metrics.jsonl`). */
  metrics: Record<string, Record<string, LocalMetricSummary>>;
}

/** A tracker that writes runs to local folders and can list and compare them. */
export interface LocalTracker extends Tracker {
  readonly directory: string;
  /** Runs in the folder, newest first, optionally of one experiment. */
  listRuns(query?: { experiment?: string }): Promise<LocalRunInfo[]>;
  /** Reads a run's metric points from `metrics.jsonl`. */
  readMetrics(runId: string): Promise<Array<Required<MetricPoint>>>;
  /** Params diff and final/best metrics of several runs. */
  compareRuns(
    runIds: string[],
    options?: { goals?: Record<string, 'min' | 'max'> },
  ): Promise<LocalRunComparison>;
}

/**
 * A tracker that keeps each run in `<directory>/<run id>/`: `config.json` (experiment, name, tags,
 * params, status), `metrics.jsonl` (one `{key, value, step, timestamp}` per line), `logs.jsonl`,
 * `artifacts/` and, once ended, `summary.json` (final and best value per metric).
 */
export function createLocalTracker(options: LocalTrackerOptions): LocalTracker {
  const directory = options.directory;
  const runFolder = (runId: string) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) {
      throw tunekitError('VALIDATION_FAILED', `Invalid local run id "${runId}"`, { runId });
    }
    return join(directory, runId);
  };
  const readConfig = async (runId: string): Promise<LocalRunConfig> => {
    try {
      return JSON.parse(await readFile(join(runFolder(runId), 'config.json'), 'utf8')) as LocalRunConfig;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw tunekitError('NOT_FOUND', `No local run "${runId}"`, { runId });
      }
      throw error;
    }
  };
  const readMetrics = async (runId: string): Promise<Array<Required<MetricPoint>>> => {
    let text: string;
    try {
      text = await readFile(join(runFolder(runId), 'metrics.jsonl'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line) as Required<MetricPoint>);
  };

  const tracker: LocalTracker = {
    kind: 'local',
    directory,
    async startRun(start) {
      const startedAt = new Date();
      const id = `${startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(4).toString('hex')}`;
      const folder = runFolder(id);
      await mkdir(join(folder, 'artifacts'), { recursive: true });
      const config: LocalRunConfig = {
        id,
        experiment: start.experiment,
        name: start.name,
        tags: { ...start.tags },
        params: {},
        status: 'running',
        startedAt: startedAt.toISOString(),
      };
      const run = createLocalRun(folder, config);
      await writeJsonAtomically(join(folder, 'config.json'), config);
      return run;
    },
    async readJobMetrics(jobId) {
      const runs = (await tracker.listRuns()).filter((run) => run.tags['tunekit.job_id'] === jobId);
      runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      const points: Array<Required<MetricPoint>> = [];
      for (const run of runs) points.push(...(await readMetrics(run.id)));
      return points;
    },

    async listRuns(query = {}) {
      let entries: string[];
      try {
        entries = await readdir(directory);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const runs: LocalRunInfo[] = [];
      for (const entry of entries) {
        let config: LocalRunConfig;
        try {
          config = await readConfig(entry);
        } catch {
          continue;
        }
        if (query.experiment !== undefined && config.experiment !== query.experiment) continue;
        let summary: LocalRunSummary | undefined;
        try {
          summary = JSON.parse(
            await readFile(join(directory, entry, 'summary.json'), 'utf8'),
          ) as LocalRunSummary;
        } catch {
          summary = undefined;
        }
        runs.push({ ...config, summary });
      }
      return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
    },
    readMetrics,
    async compareRuns(runIds, compareOptions = {}) {
      const configs = await Promise.all(runIds.map(readConfig));
      const keys = new Set(configs.flatMap((config) => Object.keys(config.params)));
      const paramsDiff: LocalRunComparison['paramsDiff'] = {};
      const paramsCommon: LocalRunComparison['paramsCommon'] = {};
      for (const key of [...keys].sort()) {
        const values = configs.map((config) =>
          key in config.params ? JSON.stringify(config.params[key]) : undefined,
        );
        if (values.every((value) => value !== undefined && value === values[0])) {
          paramsCommon[key] = configs[0].params[key];
        } else {
          paramsDiff[key] = Object.fromEntries(configs.map((config) => [config.id, config.params[key]]));
        }
      }
      const metrics: LocalRunComparison['metrics'] = {};
      for (const config of configs) {
        const summaries = summarizeMetrics(await readMetrics(config.id), compareOptions.goals);
        for (const [key, summary] of Object.entries(summaries)) {
          metrics[key] ??= {};
          metrics[key][config.id] = summary;
        }
      }
      return {
        runs: configs.map((config) => ({
          id: config.id,
          name: config.name,
          experiment: config.experiment,
          status: config.status,
        })),
        paramsDiff,
        paramsCommon,
        metrics,
      };
    },
  };
  return tracker;
}

/** Lower is better for losses, errors and perplexity; higher for everything else. */
export function defaultMetricGoal(key: string): 'min' | 'max' {
  return /loss|error|perplexity|latency|duration|mse|mae|rmse|wer|cer/i.test(key) ? 'min' : 'max';
}

function summarizeMetrics(
  points: Array<Required<MetricPoint>>,
  goals: Record<string, 'min' | 'max'> = {},
): Record<string, LocalMetricSummary> {
  const result: Record<string, LocalMetricSummary> = {};
  for (const point of points) {
    const goal = goals[point.key] ?? defaultMetricGoal(point.key);
    const current = result[point.key];
    if (!current) {
      result[point.key] = {
        final: point.value,
        finalStep: point.step,
        best: point.value,
        bestStep: point.step,
        goal,
        count: 1,
      };
      continue;
    }
    current.count += 1;
    if (point.step >= current.finalStep) {
      current.final = point.value;
      current.finalStep = point.step;
    }
    const better = goal === 'min' ? point.value < current.best : point.value > current.best;
    if (better) {
      current.best = point.value;
      current.bestStep = point.step;
    }
  }
  return result;
}

function createLocalRun(folder: string, config: LocalRunConfig): TrackerRun {
  let chain: Promise<unknown> = Promise.resolve();
  // Writes of one run are serialized so that config.json rewrites never interleave.
  const serial = <T>(operation: () => Promise<T>): Promise<T> => {
    const next = chain.then(operation, operation);
    chain = next.catch(() => {});
    return next;
  };
  const saveConfig = () => writeJsonAtomically(join(folder, 'config.json'), config);
  const metricsPath = join(folder, 'metrics.jsonl');
  return {
    id: config.id,
    logParams: (params) =>
      serial(async () => {
        Object.assign(config.params, params);
        await saveConfig();
      }),
    logMetrics: (metrics) =>
      serial(async () => {
        if (metrics.length === 0) return;
        const now = Date.now();
        const lines = metrics.map(
          (metric) =>
            `${JSON.stringify({ key: metric.key, value: metric.value, step: metric.step ?? 0, timestamp: metric.timestamp ?? now })}\n`,
        );
        await appendFile(metricsPath, lines.join(''));
      }),
    logArtifact: (name, source) =>
      serial(async () => {
        const parts = name.split(/[\\/]/).filter((part) => part !== '' && part !== '.');
        if (parts.length === 0 || parts.includes('..')) {
          throw tunekitError('VALIDATION_FAILED', `Invalid artifact name "${name}"`, {
            name,
            retryable: false,
          });
        }
        const target = join(folder, 'artifacts', ...parts);
        await mkdir(dirname(target), { recursive: true });
        if (source instanceof Uint8Array) await writeFile(target, source);
        else await copyFile(source.path, target);
      }),
    setTags: (tags) =>
      serial(async () => {
        Object.assign(config.tags, tags);
        await saveConfig();
      }),
    log: (entries) =>
      serial(async () => {
        if (entries.length === 0) return;
        await appendFile(
          join(folder, 'logs.jsonl'),
          entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''),
        );
      }),
    setStatus: (status) =>
      serial(async () => {
        config.status = status;
        await saveConfig();
      }),
    end: (status, values) =>
      serial(async () => {
        const endedAt = new Date();
        config.status = status;
        config.endedAt = endedAt.toISOString();
        await saveConfig();
        let points: Array<Required<MetricPoint>> = [];
        try {
          points = (await readFile(metricsPath, 'utf8'))
            .split('\n')
            .filter((line) => line.trim().length > 0)
            .map((line) => JSON.parse(line) as Required<MetricPoint>);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
        const summary: LocalRunSummary = {
          status,
          endedAt: config.endedAt,
          durationMs: endedAt.getTime() - Date.parse(config.startedAt),
          metrics: summarizeMetrics(points),
          values: values ?? {},
        };
        await writeJsonAtomically(join(folder, 'summary.json'), summary);
      }),
  };
}

async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, path);
}
