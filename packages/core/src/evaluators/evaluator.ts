import type { Prediction } from './predictor.js';

/** The expected answer of one sample. */
export interface SampleReference {
  /** Expected class. */
  label?: string | number;
  /** Expected texts (one or several references); the first is the primary one. */
  texts?: string[];
}

/** One evaluated sample: what went in, what was expected and what the model said. */
export interface EvaluationSample {
  /** 0-based position in the dataset. */
  index: number;
  input: unknown;
  reference: SampleReference;
  prediction: Prediction;
  /** Wall time of the `predict` call in milliseconds. */
  latencyMs: number;
}

/** Context given to {@link Evaluator.aggregate}. */
export interface AggregateContext {
  /** Wall time of the whole prediction phase in milliseconds. */
  durationMs: number;
  concurrency: number;
  /** True when aggregating a bootstrap resample (skip expensive details). */
  resample: boolean;
}

/** Metric values and optional details produced by one evaluator. */
export interface EvaluatorResult {
  /** Metric name → value (NaN when undefined, stored as null). */
  metrics: Record<string, number>;
  /** Non-numeric results: confusion matrix, per-class support, BLEU signature … */
  details?: Record<string, unknown>;
}

/**
 * A metric family. The evaluation service calls `score` once per sample and `aggregate` on all the
 * per-sample scores, then again on bootstrap resamples of them (same indices for both models in a
 * paired comparison), so corpus-level metrics such as BLEU get intervals too.
 *
 * Plugins register more with `ctx.extensions.add('evaluator', name, evaluator)`.
 */
export interface Evaluator<Score = unknown> {
  readonly name: string;
  readonly description: string;
  /** Metric names for which a lower value is better (perplexity, latency). */
  readonly lowerIsBetter?: readonly string[];
  /** Whether bootstrap intervals make sense for this evaluator (default true; false for throughput). */
  readonly bootstrap?: boolean;
  /** Per-sample statistic (kept in the sample-level outputs). Throws `EVALUATION_MISSING_FIELD` when the sample lacks what it needs. */
  score(sample: EvaluationSample): Score;
  aggregate(scores: readonly Score[], context: AggregateContext): EvaluatorResult;
}
