import type { OperationContext } from '../kit/operation-context.js';
import type { ABTest, ABTestStatus, ABTestUnit, SuccessMetric } from '../schemas/ab-test.js';
import type { CollectionPage } from '../storage/collection.js';
import type { ABTestRebuildReport } from './ab-test-aggregate-store.js';
import type { ABTestResults, ABTestResultsOptions } from './ab-test-results.js';

/** Input of {@link ABTestService.create}. The first variant is the control. */
export interface CreateABTestInput {
  name: string;
  description?: string;
  /** At least two; `name` defaults to the model id (names must be unique). */
  variants: Array<{ modelId: string; weight: number; name?: string }>;
  successMetric: { kind: SuccessMetric['kind']; name: string; direction?: SuccessMetric['direction'] };
  /** Units per variant before a winner may be declared (default 100). */
  minSamplesPerVariant?: number;
  /** Significance level (default 0.05; Bonferroni-divided by the number of treatments). */
  alpha?: number;
  /** Hash seed (default: the test id). Reuse a seed to keep assignments when re-creating a test. */
  seed?: string;
}

/** Input of {@link ABTestService.update}. */
export interface UpdateABTestInput {
  name?: string;
  description?: string;
  /** New weights by variant name (missing variants keep theirs); moves only the units it must. */
  weights?: Record<string, number>;
  minSamplesPerVariant?: number;
  alpha?: number;
}

/** Where a unit goes. */
export interface ABAssignment {
  testId: string;
  /** Variant name. */
  variant: string;
  modelId: string;
  /** False when the test is paused (control for everyone) or completed (the winner for everyone). */
  inExperiment: boolean;
  /** The unit's hash bucket in [0, 10000). */
  bucket: number;
}

/** What {@link ABTestService.record} records for a unit. */
export type ABTestObservation = { exposure: true } | { outcome: number | boolean };

/** Query of {@link ABTestService.list}. */
export interface ABTestListQuery {
  status?: ABTestStatus;
  limit?: number;
  cursor?: string;
}

/** Options of {@link ABTestService.stop}. */
export interface StopABTestOptions {
  /** Declare this variant the winner instead of the computed one. */
  winner?: string;
  reason?: string;
}

/**
 * `kit.abTests`: deterministic, sticky traffic splitting between model variants, outcome recording
 * and frequentist results.
 */
export interface ABTestService {
  create(input: CreateABTestInput, context?: OperationContext): Promise<ABTest>;
  get(testId: string): Promise<ABTest | undefined>;
  list(query?: ABTestListQuery): Promise<CollectionPage<ABTest>>;
  /** Changes name, weights or thresholds. @throws `ABTEST_NOT_ACTIVE` when completed. */
  update(testId: string, input: UpdateABTestInput, context?: OperationContext): Promise<ABTest>;
  /**
   * The unit's variant: `fnv1a(String(fnv1a(seed + unitId))) % 10000` looked up in the bucket table.
   * Deterministic and sticky; reads the test from an in-memory cache (no storage write, no read once cached).
   */
  assign(testId: string, unitId: string): Promise<ABAssignment>;
  /** A synchronous assign function for hot paths (the test is loaded once; updates through this service apply). */
  assigner(testId: string): Promise<(unitId: string) => ABAssignment>;
  /**
   * Records an exposure or an outcome (binary: true/false or 1/0; numeric: any finite number;
   * rating: 1..5) for a unit. The unit's variant is fixed at its first record.
   * @throws `ABTEST_NOT_ACTIVE` (completed; or paused for a new unit), `VALIDATION_FAILED`.
   */
  record(
    testId: string,
    unitId: string,
    observation: ABTestObservation,
    context?: OperationContext,
  ): Promise<ABTestUnit>;
  /**
   * Per-variant statistics, tests, sample-ratio check and winner, from per-variant sufficient
   * statistics kept up to date by `record`: O(variants), not O(units). A test written before those
   * statistics existed is rebuilt from its unit records on first use.
   */
  results(testId: string, options?: ABTestResultsOptions): Promise<ABTestResults>;
  /**
   * Rebuilds a test's statistics from its unit records (one pass over them) and says whether they
   * had drifted: a repair after a writer stalled past its claim, or data written by an older
   * version. Recording to the test waits meanwhile; other tests are not affected.
   */
  recompute(testId: string, context?: OperationContext): Promise<ABTestRebuildReport>;
  pause(testId: string, context?: OperationContext): Promise<ABTest>;
  resume(testId: string, context?: OperationContext): Promise<ABTest>;
  /** Completes the test, stores the winner (computed, or given) and emits `abtest:concluded`. */
  stop(testId: string, options?: StopABTestOptions, context?: OperationContext): Promise<ABTest>;
}
