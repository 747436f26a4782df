import { z } from 'zod';

/** One metric of an evaluation: its value and, when bootstrapped, a confidence interval. */
export const MetricValueSchema = z.object({
  /** The metric on all samples; null when undefined (e.g. no samples of a class). */
  value: z.number().nullable(),
  /** Lower bound of the percentile bootstrap interval. */
  lower: z.number().optional(),
  /** Upper bound of the percentile bootstrap interval. */
  upper: z.number().optional(),
});
/** One metric value with its confidence interval. */
export type MetricValue = z.infer<typeof MetricValueSchema>;

/** Lifecycle of an evaluation run. */
export const EvaluationStatusSchema = z.enum(['running', 'succeeded', 'failed']);
/** Lifecycle of an evaluation run. */
export type EvaluationStatus = z.infer<typeof EvaluationStatusSchema>;

/**
 * One evaluation of one model on one dataset version (or on in-memory rows): per-metric values with
 * bootstrap confidence intervals, evaluator details (confusion matrix, per-class scores, BLEU
 * signature …) and a link to the sample-level outputs in the artifact store.
 */
export const EvaluationSchema = z.object({
  /** `eval_` + random hex. */
  id: z.string().min(1),
  name: z.string().optional(),
  /** The predictor's id. */
  modelId: z.string().min(1),
  /** The dataset version evaluated on; absent for in-memory rows. */
  datasetVersionId: z.string().optional(),
  status: EvaluationStatusSchema,
  /** Names of the evaluators that ran. */
  evaluators: z.array(z.string()),
  sampleCount: z.number().int().min(0),
  /** Metric name → value and interval, e.g. `accuracy`, `f1.macro`, `bleu`, `latency.p95`. */
  metrics: z.record(z.string(), MetricValueSchema),
  /** Evaluator name → extra results that are not single numbers. */
  details: z.record(z.string(), z.unknown()),
  /** Confidence level of the intervals (1 − alpha). */
  confidenceLevel: z.number().gt(0).lt(1),
  bootstrapResamples: z.number().int().min(0),
  bootstrapSeed: z.number().int(),
  concurrency: z.number().int().min(1),
  /** `artifact://evaluations/<id>/samples.jsonl`: one line per sample with input, reference, prediction, scores. */
  samplesUri: z.string().optional(),
  durationMs: z.number().min(0).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  owner: z.string().optional(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  version: z.number().int().min(0).default(0),
});
/** One evaluation record. */
export type Evaluation = z.infer<typeof EvaluationSchema>;

/** Which model a comparison favours. */
export const ComparisonVerdictSchema = z.enum(['a', 'b', 'not-significant']);
/** Which model a comparison favours. */
export type ComparisonVerdict = z.infer<typeof ComparisonVerdictSchema>;

/** One metric of a comparison: both values, `a − b`, its paired bootstrap interval and which is better. */
export const MetricDifferenceSchema = z.object({
  a: z.number().nullable(),
  b: z.number().nullable(),
  /** a − b. */
  difference: z.number().nullable(),
  lower: z.number().optional(),
  upper: z.number().optional(),
  lowerIsBetter: z.boolean(),
  /** `a` or `b` when the interval excludes 0, else `not-significant`. */
  better: ComparisonVerdictSchema,
});
/** One metric of a comparison. */
export type MetricDifference = z.infer<typeof MetricDifferenceSchema>;

/** McNemar's test on the per-sample correctness of two classifiers. */
export const McNemarSummarySchema = z.object({
  method: z.enum(['exact-binomial', 'chi-square-continuity']),
  /** Samples only model a got right. */
  onlyACorrect: z.number().int().min(0),
  /** Samples only model b got right. */
  onlyBCorrect: z.number().int().min(0),
  statistic: z.number(),
  pValue: z.number(),
});
/** McNemar's test result. */
export type McNemarSummary = z.infer<typeof McNemarSummarySchema>;

/** A paired comparison of two models on the same samples. */
export const EvaluationComparisonSchema = z.object({
  /** `cmp_` + random hex. */
  id: z.string().min(1),
  modelIds: z.tuple([z.string(), z.string()]),
  evaluationIds: z.tuple([z.string(), z.string()]),
  datasetVersionId: z.string().optional(),
  sampleCount: z.number().int().min(0),
  metrics: z.record(z.string(), MetricDifferenceSchema),
  /** Present when accuracy was evaluated. */
  mcNemar: McNemarSummarySchema.optional(),
  /** The metric the verdict is based on. */
  primaryMetric: z.string(),
  verdict: ComparisonVerdictSchema,
  alpha: z.number().gt(0).lt(1),
  owner: z.string().optional(),
  createdAt: z.string(),
  version: z.number().int().min(0).default(0),
});
/** A paired comparison of two models. */
export type EvaluationComparison = z.infer<typeof EvaluationComparisonSchema>;
