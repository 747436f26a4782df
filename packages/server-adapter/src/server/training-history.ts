import type { Tunekit } from '@tunekit/core';

/** One optimizer step of a run as the dashboard plots it. */
export interface TrainingStepPoint {
  step: number;
  loss: number;
  learningRate: number;
  tokensPerSecond?: number;
}

/** One validation of a run. */
export interface TrainingEvaluationPoint {
  step: number;
  metrics: Record<string, number>;
}

/** A run's curves. */
export interface TrainingCurves {
  steps: TrainingStepPoint[];
  evaluations: TrainingEvaluationPoint[];
}

/**
 * The metric curves of the training runs this server has seen (from the kit's `training:step` and
 * `training:evaluated` events), kept in memory for the dashboard's charts: the most recent
 * `maxRuns` runs, each thinned to at most `maxPoints` steps (every other point dropped when full).
 */
export interface TrainingHistory {
  curves(jobId: string): TrainingCurves;
  /** Stops listening. */
  close(): void;
}

/** Creates the history over a kit's event bus. */
export function createTrainingHistory(
  kit: Tunekit,
  { maxRuns = 200, maxPoints = 5000 }: { maxRuns?: number; maxPoints?: number } = {},
): TrainingHistory {
  const runs = new Map<string, TrainingCurves & { stride: number; seen: number }>();
  const runOf = (jobId: string) => {
    let run = runs.get(jobId);
    if (!run) {
      run = { steps: [], evaluations: [], stride: 1, seen: 0 };
      runs.set(jobId, run);
      // Forget the oldest run beyond the limit (a Map iterates in insertion order).
      if (runs.size > maxRuns) runs.delete(runs.keys().next().value as string);
    }
    return run;
  };
  const unsubscribe = [
    kit.events.on('training:step', (event) => {
      if (!event.jobId) return;
      const run = runOf(event.jobId);
      run.seen += 1;
      if (run.seen % run.stride !== 0) return;
      run.steps.push({
        step: event.step,
        loss: event.loss,
        learningRate: event.learningRate,
        tokensPerSecond: event.tokensPerSecond,
      });
      if (run.steps.length > maxPoints) {
        run.steps = run.steps.filter((_, index) => index % 2 === 1);
        run.stride *= 2;
      }
    }),
    kit.events.on('training:evaluated', (event) => {
      if (event.jobId) runOf(event.jobId).evaluations.push({ step: event.step, metrics: event.metrics });
    }),
  ];
  return {
    curves(jobId) {
      const run = runs.get(jobId);
      return { steps: run?.steps ?? [], evaluations: run?.evaluations ?? [] };
    },
    close() {
      for (const off of unsubscribe) off();
    },
  };
}
