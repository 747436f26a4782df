import type { OperationContext } from '../kit/operation-context.js';
import type { Evaluation, EvaluationComparison } from '../schemas/evaluation.js';
import type { CollectionPage } from '../storage/collection.js';
import type { Evaluator } from './evaluator.js';
import type { Predictor } from './predictor.js';

/**
 * Rows to evaluate on: a dataset version id (read through `kit.datasets`), or rows in memory.
 * Rows are objects such as `{ text, label }`, `{ prompt, completion }` or `{ input, reference }`.
 */
export type EvaluationDataset =
  | string
  | { rows: Iterable<unknown> | AsyncIterable<unknown> }
  | readonly unknown[];

/** Which row fields hold the input, the label and the reference text(s). */
export interface EvaluationFieldMap {
  /** Default: the first of `input`, `prompt`, `messages`, `text` present. */
  input?: string;
  /** Default: `label`. */
  label?: string;
  /** Default: the first of `reference`, `references`, `completion`, `target`, `output`, `chosen` present (a string or string[]). */
  reference?: string;
}

/** Options shared by {@link EvaluationService.evaluate} and {@link EvaluationService.compare}. */
export interface EvaluationRunOptions {
  dataset: EvaluationDataset;
  /** Evaluator names (built-in or registered by plugins) or evaluator objects. */
  evaluators: ReadonlyArray<string | Evaluator>;
  /** Predictions in flight at once (default 4). */
  concurrency?: number;
  /** Bootstrap resamples for intervals (default 1000; 0 disables intervals). */
  bootstrapResamples?: number;
  /** Seed of the bootstrap (default 0). */
  seed?: number;
  /** 1 − confidence level (default 0.05). */
  alpha?: number;
  fields?: EvaluationFieldMap;
  /** Evaluate only the first N rows. */
  limit?: number;
  name?: string;
  signal?: AbortSignal;
}

/** Options of {@link EvaluationService.evaluate}. */
export interface EvaluateOptions extends EvaluationRunOptions {
  model: Predictor;
}

/** Options of {@link EvaluationService.compare}. */
export interface CompareOptions extends EvaluationRunOptions {
  models: readonly [Predictor, Predictor];
  /** Metric the verdict follows (default: `accuracy` when evaluated, else the first bootstrapped metric). */
  primaryMetric?: string;
}

/** Query of {@link EvaluationService.list}. */
export interface EvaluationListQuery {
  modelId?: string;
  datasetVersionId?: string;
  limit?: number;
  cursor?: string;
}

/**
 * `kit.evaluators`: the evaluator registry (built-ins plus plugins' `evaluator` extensions),
 * evaluation runs and paired comparisons.
 */
export interface EvaluationService {
  /** Registers an evaluator (an `evaluator` extension). @throws `CONFLICT` when the name is taken. */
  register(evaluator: Evaluator): void;
  /** An evaluator by name, or undefined. */
  get(name: string): Evaluator | undefined;
  /** Every registered evaluator. */
  list(): Evaluator[];
  /**
   * Runs the predictor over the rows with bounded concurrency (emitting `evaluation:progress`),
   * computes every evaluator's metrics with percentile bootstrap intervals, writes sample-level
   * outputs to the artifact store and stores the Evaluation record.
   *
   * @throws `EVALUATOR_NOT_FOUND`, `NOT_FOUND` (dataset version), `EVALUATION_MISSING_FIELD`,
   * `EVALUATION_PREDICTION_FAILED` (the predictor threw; the record is stored as failed).
   */
  evaluate(options: EvaluateOptions, context?: OperationContext): Promise<Evaluation>;
  /**
   * Evaluates both models on the same samples; per metric the difference a − b with a paired
   * bootstrap interval, McNemar's test for accuracy, and a verdict `a` | `b` | `not-significant`.
   */
  compare(options: CompareOptions, context?: OperationContext): Promise<EvaluationComparison>;
  getEvaluation(id: string): Promise<Evaluation | undefined>;
  listEvaluations(query?: EvaluationListQuery): Promise<CollectionPage<Evaluation>>;
  getComparison(id: string): Promise<EvaluationComparison | undefined>;
  /** The sample-level outputs of an evaluation (parsed JSONL lines). */
  samples(evaluationId: string): Promise<Array<Record<string, unknown>>>;
}
