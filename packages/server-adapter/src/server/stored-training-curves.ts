import type { MetricPoint } from '@tunekit/core';
import type { TrainingCurves, TrainingEvaluationPoint, TrainingStepPoint } from './training-history.js';

/** Metric keys the tracker hub logs per optimizer step (everything else at a step is an evaluation). */
const STEP_KEYS = new Set([
  'loss',
  'learning_rate',
  'epoch',
  'tokens_per_second',
  'gradient_norm',
  'progress',
]);

/**
 * Rebuilds a run's curves from the metric points a tracker stored (the local tracker's
 * `metrics.jsonl`: `loss`, `learning_rate`, `tokens_per_second` … per step, validation metrics at
 * their step). A later point for the same key and step wins (a resumed run's second tracker run).
 * At most `maxPoints` steps are kept, evenly thinned.
 */
export function storedTrainingCurves(
  points: ReadonlyArray<Required<MetricPoint>>,
  maxPoints = 5000,
): TrainingCurves {
  const steps = new Map<number, Partial<TrainingStepPoint>>();
  const evaluations = new Map<number, Record<string, number>>();
  for (const point of points) {
    if (!Number.isFinite(point.value) || !Number.isInteger(point.step)) continue;
    if (STEP_KEYS.has(point.key)) {
      const entry = steps.get(point.step) ?? { step: point.step };
      if (point.key === 'loss') entry.loss = point.value;
      else if (point.key === 'learning_rate') entry.learningRate = point.value;
      else if (point.key === 'tokens_per_second') entry.tokensPerSecond = point.value;
      steps.set(point.step, entry);
    } else {
      const metrics = evaluations.get(point.step) ?? {};
      metrics[point.key] = point.value;
      evaluations.set(point.step, metrics);
    }
  }
  const stepPoints = [...steps.values()]
    .filter(
      (entry): entry is TrainingStepPoint => entry.loss !== undefined && entry.learningRate !== undefined,
    )
    .sort((a, b) => a.step - b.step);
  const stride = Math.max(1, Math.ceil(stepPoints.length / maxPoints));
  const thinned =
    stride === 1
      ? stepPoints
      : stepPoints.filter((_, index) => index % stride === 0 || index === stepPoints.length - 1);
  const evaluationPoints: TrainingEvaluationPoint[] = [...evaluations]
    .map(([step, metrics]) => ({ step, metrics }))
    .sort((a, b) => a.step - b.step);
  return { steps: thinned, evaluations: evaluationPoints };
}

/**
 * The curves of a run: what this process saw live, preceded by the tracker's stored points for
 * the steps it did not see (a run trained before the server started, by another process's worker,
 * or resumed here after a restart).
 */
export function mergeTrainingCurves(stored: TrainingCurves, live: TrainingCurves): TrainingCurves {
  const firstLiveStep = live.steps[0]?.step ?? Number.POSITIVE_INFINITY;
  const firstLiveEvaluation = live.evaluations[0]?.step ?? Number.POSITIVE_INFINITY;
  return {
    steps: [...stored.steps.filter((point) => point.step < firstLiveStep), ...live.steps],
    evaluations: [
      ...stored.evaluations.filter((point) => point.step < Math.min(firstLiveStep, firstLiveEvaluation)),
      ...live.evaluations,
    ],
  };
}
