import { randomBytes } from 'node:crypto';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { createAuditRecorder } from '../audit/create-audit-recorder.js';
import type { DatasetService } from '../datasets/dataset-service.js';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { OperationContext } from '../kit/operation-context.js';
import type { Extensions } from '../plugins/extension-points.js';
import {
  type Evaluation,
  type EvaluationComparison,
  EvaluationComparisonSchema,
  EvaluationSchema,
  type MetricDifference,
  type MetricValue,
} from '../schemas/evaluation.js';
import { bootstrapIndices, percentileInterval } from '../statistics/bootstrap.js';
import { mcNemarTest } from '../statistics/hypothesis-tests.js';
import type { Storage } from '../storage/collection.js';
import { BUILT_IN_EVALUATORS } from './built-in-evaluators.js';
import type {
  CompareOptions,
  EvaluateOptions,
  EvaluationDataset,
  EvaluationFieldMap,
  EvaluationRunOptions,
  EvaluationService,
} from './evaluation-service.js';
import type { AggregateContext, EvaluationSample, Evaluator, SampleReference } from './evaluator.js';
import type { Predictor } from './predictor.js';

/** What {@link createEvaluationService} needs from the kit. */
export interface EvaluationServiceOptions {
  storage: Storage;
  artifacts: ArtifactStore;
  events: EventBus;
  /** Where evaluators are registered (`evaluator` extension point); built-ins are added here. */
  extensions: Extensions;
  /** Reads dataset versions by id; without it only in-memory rows can be evaluated. */
  datasets?: Pick<DatasetService, 'getVersion' | 'rows'>;
  audit?: AuditSink;
}

interface PreparedRow {
  input: unknown;
  reference: SampleReference;
  row: Record<string, unknown>;
}

interface RunOutcome {
  evaluation: Evaluation;
  evaluators: Evaluator[];
  /** Evaluator name → per-sample scores. */
  scores: Map<string, unknown[]>;
  context: AggregateContext;
}

const DEFAULT_INPUT_FIELDS = ['input', 'prompt', 'messages', 'text'];
const DEFAULT_REFERENCE_FIELDS = ['reference', 'references', 'completion', 'target', 'output', 'chosen'];

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

function finiteOrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

function pushReplicate(replicates: Map<string, number[]>, name: string, value: number): void {
  const list = replicates.get(name);
  if (list === undefined) replicates.set(name, [value]);
  else list.push(value);
}

function prepareRow(raw: unknown, fields: EvaluationFieldMap | undefined, index: number): PreparedRow {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw tunekitError('VALIDATION_FAILED', `Evaluation row ${index} is not an object`, { row: index });
  }
  const row = raw as Record<string, unknown>;
  const inputField = fields?.input ?? DEFAULT_INPUT_FIELDS.find((field) => row[field] !== undefined);
  const labelField = fields?.label ?? 'label';
  const referenceField =
    fields?.reference ?? DEFAULT_REFERENCE_FIELDS.find((field) => row[field] !== undefined);
  const reference: SampleReference = {};
  const label = row[labelField];
  if (typeof label === 'string' || typeof label === 'number') reference.label = label;
  const texts = referenceField === undefined ? undefined : row[referenceField];
  if (typeof texts === 'string') reference.texts = [texts];
  else if (Array.isArray(texts) && texts.every((text) => typeof text === 'string')) reference.texts = texts;
  return { input: inputField === undefined ? undefined : row[inputField], reference, row };
}

/**
 * Creates `kit.evaluators`: registers the built-in evaluators as `evaluator` extensions, runs
 * evaluations and comparisons, and stores their records in the `evaluations` and
 * `evaluation-comparisons` collections.
 *
 * @example
 * ```ts
 * const evaluation = await kit.evaluators.evaluate({
 *   model: predictor,
 *   dataset: versionId,
 *   evaluators: ['accuracy', 'classification', 'latency'],
 *   concurrency: 8,
 * });
 * evaluation.metrics.accuracy; // { value: 0.91, lower: 0.88, upper: 0.94 }
 * ```
 */
export function createEvaluationService(options: EvaluationServiceOptions): EvaluationService {
  const { storage, artifacts, events, extensions, datasets } = options;
  const audit = createAuditRecorder({ sink: options.audit, source: 'evaluators', events });
  const evaluations = storage.collection('evaluations', EvaluationSchema);
  const comparisons = storage.collection('evaluation-comparisons', EvaluationComparisonSchema);
  for (const evaluator of BUILT_IN_EVALUATORS) {
    if (extensions.get('evaluator', evaluator.name) === undefined)
      extensions.add('evaluator', evaluator.name, evaluator);
  }

  const resolveEvaluators = (requested: EvaluationRunOptions['evaluators']): Evaluator[] => {
    if (requested.length === 0) {
      throw tunekitError('VALIDATION_FAILED', 'evaluators: at least one evaluator is required', {
        issues: [{ path: 'evaluators', message: 'must not be empty' }],
      });
    }
    return requested.map((entry) => {
      if (typeof entry !== 'string') return entry;
      const found = extensions.get('evaluator', entry);
      if (found === undefined) {
        throw tunekitError(
          'EVALUATOR_NOT_FOUND',
          `No evaluator named "${entry}"; registered: ${extensions
            .list('evaluator')
            .map((item) => item.name)
            .join(', ')}`,
          { evaluator: entry },
        );
      }
      return found;
    });
  };

  const loadRows = async (
    dataset: EvaluationDataset,
    fields: EvaluationFieldMap | undefined,
    limit: number | undefined,
  ): Promise<{ rows: PreparedRow[]; datasetVersionId?: string }> => {
    const maximum = limit ?? Number.POSITIVE_INFINITY;
    const rows: PreparedRow[] = [];
    let source: Iterable<unknown> | AsyncIterable<unknown>;
    let datasetVersionId: string | undefined;
    if (typeof dataset === 'string') {
      if (datasets === undefined) {
        throw tunekitError(
          'SERVICE_MISSING',
          'Evaluating a dataset version id needs kit.datasets; pass rows instead',
        );
      }
      const version = await datasets.getVersion(dataset);
      if (version === undefined) {
        throw tunekitError('NOT_FOUND', `No dataset version "${dataset}"`, { datasetVersionId: dataset });
      }
      datasetVersionId = version.id;
      source = datasets.rows(version.id) as AsyncIterable<unknown>;
    } else {
      source = Array.isArray(dataset)
        ? dataset
        : (dataset as { rows: Iterable<unknown> | AsyncIterable<unknown> }).rows;
    }
    for await (const raw of source) {
      if (rows.length >= maximum) break;
      rows.push(prepareRow(raw, fields, rows.length));
    }
    return { rows, datasetVersionId };
  };

  const predictAll = async (
    model: Predictor,
    rows: readonly PreparedRow[],
    concurrency: number,
    evaluationId: string,
    signal: AbortSignal | undefined,
  ): Promise<{ samples: EvaluationSample[]; durationMs: number }> => {
    const samples = new Array<EvaluationSample>(rows.length);
    let next = 0;
    let completed = 0;
    const step = Math.max(1, Math.floor(rows.length / 100));
    const started = performance.now();
    const worker = async () => {
      while (next < rows.length) {
        signal?.throwIfAborted();
        const index = next;
        next += 1;
        const row = rows[index] as PreparedRow;
        const before = performance.now();
        let prediction: Awaited<ReturnType<Predictor['predict']>>;
        try {
          prediction = await model.predict(
            { input: row.input, reference: row.reference.texts?.[0], row: row.row },
            { signal },
          );
        } catch (error) {
          if (signal?.aborted) throw error;
          throw tunekitError(
            'EVALUATION_PREDICTION_FAILED',
            `Model "${model.id}" failed on sample ${index}: ${error instanceof Error ? error.message : String(error)}`,
            { modelId: model.id, sampleIndex: index },
            { cause: error },
          );
        }
        samples[index] = {
          index,
          input: row.input,
          reference: row.reference,
          prediction: prediction ?? {},
          latencyMs: performance.now() - before,
        };
        completed += 1;
        if (completed % step === 0 || completed === rows.length) {
          events.emit('evaluation:progress', {
            evaluationId,
            modelId: model.id,
            completed,
            total: rows.length,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, rows.length)) }, worker));
    return { samples, durationMs: performance.now() - started };
  };

  const runOne = async (
    model: Predictor,
    rows: readonly PreparedRow[],
    datasetVersionId: string | undefined,
    evaluators: Evaluator[],
    run: EvaluationRunOptions,
    context: OperationContext | undefined,
  ): Promise<RunOutcome> => {
    const concurrency = Math.max(1, Math.floor(run.concurrency ?? 4));
    const alpha = run.alpha ?? 0.05;
    const resamples = Math.max(0, Math.floor(run.bootstrapResamples ?? 1000));
    const seed = Math.floor(run.seed ?? 0);
    let evaluation = await evaluations.set({
      id: newId('eval'),
      name: run.name,
      modelId: model.id,
      datasetVersionId,
      status: 'running',
      evaluators: evaluators.map((evaluator) => evaluator.name),
      sampleCount: rows.length,
      metrics: {},
      details: {},
      confidenceLevel: 1 - alpha,
      bootstrapResamples: resamples,
      bootstrapSeed: seed,
      concurrency,
      owner: context?.actor,
      createdAt: new Date().toISOString(),
      version: 0,
    });
    events.emit('evaluation:started', { evaluationId: evaluation.id, modelId: model.id, total: rows.length });
    return audit.run(
      {
        action: 'evaluation.run',
        resourceType: 'evaluation',
        resourceId: evaluation.id,
        details: () => ({ modelId: model.id, datasetVersionId, samples: rows.length }),
        failure: { details: { modelId: model.id } },
      },
      context,
      async () => {
        try {
          const { samples, durationMs } = await predictAll(
            model,
            rows,
            concurrency,
            evaluation.id,
            run.signal,
          );
          const aggregateContext: AggregateContext = { durationMs, concurrency, resample: false };
          const scores = new Map<string, unknown[]>();
          for (const evaluator of evaluators)
            scores.set(
              evaluator.name,
              samples.map((sample) => evaluator.score(sample)),
            );
          const metrics: Record<string, MetricValue> = {};
          const details: Record<string, unknown> = {};
          for (const evaluator of evaluators) {
            const result = evaluator.aggregate(scores.get(evaluator.name) as unknown[], aggregateContext);
            for (const [name, value] of Object.entries(result.metrics))
              metrics[name] = { value: finiteOrNull(value) };
            if (result.details !== undefined) details[evaluator.name] = result.details;
          }
          const bootstrapped = evaluators.filter((evaluator) => evaluator.bootstrap !== false);
          if (resamples > 0 && samples.length > 1 && bootstrapped.length > 0) {
            const replicates = new Map<string, number[]>();
            const resampleContext = { ...aggregateContext, resample: true };
            bootstrapIndices(samples.length, { resamples, seed }, (indices) => {
              for (const evaluator of bootstrapped) {
                const all = scores.get(evaluator.name) as unknown[];
                const picked = Array.from(indices, (index) => all[index]);
                for (const [name, value] of Object.entries(
                  evaluator.aggregate(picked, resampleContext).metrics,
                )) {
                  pushReplicate(replicates, name, value);
                }
              }
            });
            for (const [name, values] of replicates) {
              const interval = percentileInterval(values, alpha);
              const metric = metrics[name];
              if (
                metric !== undefined &&
                Number.isFinite(interval.lower) &&
                Number.isFinite(interval.upper)
              ) {
                metric.lower = interval.lower;
                metric.upper = interval.upper;
              }
            }
          }
          const samplesUri = `artifact://evaluations/${evaluation.id}/samples.jsonl`;
          const lines = samples.map((sample) =>
            JSON.stringify({
              ...sample,
              scores: Object.fromEntries(
                evaluators.map((evaluator) => [evaluator.name, scores.get(evaluator.name)?.[sample.index]]),
              ),
            }),
          );
          await artifacts.put(samplesUri, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
          evaluation = await evaluations.set({
            ...evaluation,
            status: 'succeeded',
            metrics,
            details,
            samplesUri,
            durationMs,
            finishedAt: new Date().toISOString(),
          });
          events.emit('evaluation:completed', {
            evaluationId: evaluation.id,
            modelId: model.id,
            metrics: Object.fromEntries(
              Object.entries(metrics).map(([name, metric]) => [name, metric.value]),
            ),
          });
          return { evaluation, evaluators, scores, context: aggregateContext };
        } catch (error) {
          const code = TunekitError.isInstance(error) ? error.code : 'INTERNAL';
          const message = error instanceof Error ? error.message : String(error);
          await evaluations.set({
            ...evaluation,
            status: 'failed',
            error: { code, message },
            finishedAt: new Date().toISOString(),
          });
          events.emit('evaluation:failed', {
            evaluationId: evaluation.id,
            modelId: model.id,
            error: message,
            code,
          });
          throw error;
        }
      },
    );
  };

  return {
    register(evaluator) {
      extensions.add('evaluator', evaluator.name, evaluator);
    },
    get: (name) => extensions.get('evaluator', name),
    list: () => extensions.list('evaluator').map((entry) => entry.value),

    async evaluate(run: EvaluateOptions, context?: OperationContext) {
      const evaluators = resolveEvaluators(run.evaluators);
      const { rows, datasetVersionId } = await loadRows(run.dataset, run.fields, run.limit);
      return (await runOne(run.model, rows, datasetVersionId, evaluators, run, context)).evaluation;
    },

    async compare(run: CompareOptions, context?: OperationContext) {
      const evaluators = resolveEvaluators(run.evaluators);
      const alpha = run.alpha ?? 0.05;
      const { rows, datasetVersionId } = await loadRows(run.dataset, run.fields, run.limit);
      const first = await runOne(run.models[0], rows, datasetVersionId, evaluators, run, context);
      const second = await runOne(run.models[1], rows, datasetVersionId, evaluators, run, context);

      const lowerIsBetter = new Map<string, boolean>();
      for (const evaluator of evaluators) {
        for (const name of evaluator.lowerIsBetter ?? []) lowerIsBetter.set(name, true);
      }
      // Paired bootstrap: the same resampled indices for both models.
      const replicates = new Map<string, number[]>();
      const resamples = Math.max(0, Math.floor(run.bootstrapResamples ?? 1000));
      const bootstrapped = evaluators.filter((evaluator) => evaluator.bootstrap !== false);
      if (resamples > 0 && rows.length > 1) {
        bootstrapIndices(rows.length, { resamples, seed: Math.floor(run.seed ?? 0) }, (indices) => {
          for (const evaluator of bootstrapped) {
            const scoresA = first.scores.get(evaluator.name) as unknown[];
            const scoresB = second.scores.get(evaluator.name) as unknown[];
            const metricsA = evaluator.aggregate(
              Array.from(indices, (index) => scoresA[index]),
              { ...first.context, resample: true },
            ).metrics;
            const metricsB = evaluator.aggregate(
              Array.from(indices, (index) => scoresB[index]),
              { ...second.context, resample: true },
            ).metrics;
            for (const [name, value] of Object.entries(metricsA)) {
              pushReplicate(replicates, name, value - (metricsB[name] ?? Number.NaN));
            }
          }
        });
      }
      const metrics: Record<string, MetricDifference> = {};
      for (const [name, valueA] of Object.entries(first.evaluation.metrics)) {
        const a = valueA.value;
        const b = second.evaluation.metrics[name]?.value ?? null;
        const lower = lowerIsBetter.get(name) ?? false;
        const difference: MetricDifference = {
          a,
          b,
          difference: a !== null && b !== null ? a - b : null,
          lowerIsBetter: lower,
          better: 'not-significant',
        };
        const values = replicates.get(name);
        if (values !== undefined) {
          const interval = percentileInterval(values, alpha);
          if (Number.isFinite(interval.lower) && Number.isFinite(interval.upper)) {
            difference.lower = interval.lower;
            difference.upper = interval.upper;
            if (interval.lower > 0) difference.better = lower ? 'b' : 'a';
            else if (interval.upper < 0) difference.better = lower ? 'a' : 'b';
          }
        }
        metrics[name] = difference;
      }
      let mcNemar: EvaluationComparison['mcNemar'];
      const accuracyA = first.scores.get('accuracy') as number[] | undefined;
      const accuracyB = second.scores.get('accuracy') as number[] | undefined;
      if (accuracyA !== undefined && accuracyB !== undefined) {
        let onlyA = 0;
        let onlyB = 0;
        accuracyA.forEach((correct, index) => {
          if (correct === 1 && accuracyB[index] === 0) onlyA += 1;
          if (correct === 0 && accuracyB[index] === 1) onlyB += 1;
        });
        const test = mcNemarTest(onlyA, onlyB);
        mcNemar = {
          method: test.method,
          onlyACorrect: onlyA,
          onlyBCorrect: onlyB,
          statistic: test.statistic,
          pValue: test.pValue,
        };
      }
      const primaryMetric =
        run.primaryMetric ??
        (metrics.accuracy !== undefined
          ? 'accuracy'
          : (Object.keys(metrics).find((name) => metrics[name]?.lower !== undefined) ??
            Object.keys(metrics)[0] ??
            'none'));
      let verdict: EvaluationComparison['verdict'] = 'not-significant';
      const primary = metrics[primaryMetric];
      if (primaryMetric === 'accuracy' && mcNemar !== undefined && primary?.difference != null) {
        if (mcNemar.pValue < alpha && primary.difference !== 0) verdict = primary.difference > 0 ? 'a' : 'b';
      } else if (primary !== undefined) {
        verdict = primary.better;
      }
      const comparison = await comparisons.set({
        id: newId('cmp'),
        modelIds: [run.models[0].id, run.models[1].id],
        evaluationIds: [first.evaluation.id, second.evaluation.id],
        datasetVersionId,
        sampleCount: rows.length,
        metrics,
        mcNemar,
        primaryMetric,
        verdict,
        alpha,
        owner: context?.actor,
        createdAt: new Date().toISOString(),
        version: 0,
      });
      events.emit('evaluation:compared', {
        comparisonId: comparison.id,
        modelIds: comparison.modelIds,
        verdict,
        primaryMetric,
      });
      await audit.record(
        {
          action: 'evaluation.compare',
          resourceType: 'evaluation-comparison',
          resourceId: comparison.id,
          outcome: 'success',
          details: { modelIds: comparison.modelIds, verdict },
        },
        context,
      );
      return comparison;
    },

    getEvaluation: (id) => evaluations.get(id),
    listEvaluations: (query = {}) =>
      evaluations.list({
        filter: (record) =>
          (query.modelId === undefined || record.modelId === query.modelId) &&
          (query.datasetVersionId === undefined || record.datasetVersionId === query.datasetVersionId),
        sort: { field: 'createdAt', direction: 'desc' },
        limit: query.limit,
        cursor: query.cursor,
      }),
    getComparison: (id) => comparisons.get(id),
    async samples(evaluationId) {
      const evaluation = await evaluations.require(evaluationId);
      if (evaluation.samplesUri === undefined) return [];
      const text = new TextDecoder().decode(await artifacts.get(evaluation.samplesUri));
      return text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}
