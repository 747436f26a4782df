import type { OperationContext } from '../kit/operation-context.js';
import type { DatasetVersion } from '../schemas/dataset-version.js';
import type { Feedback } from '../schemas/feedback.js';
import type { CollectionPage } from '../storage/collection.js';

/** Input of {@link FeedbackService.record}. */
export interface RecordFeedbackInput {
  modelId: string;
  userId: string;
  sessionId?: string;
  input: string;
  output: string;
  correctedText?: string;
  /** Integer 1..5. */
  rating?: number;
  /** Kind of feedback (default `rating` when a rating is given, else `correction` or `comment`). */
  type?: string;
  transformationType?: string;
  tags?: string[];
  /** Links the feedback to an A/B test: with a `rating` success metric the rating is recorded as the unit's outcome. */
  abTestId?: string;
  /** The A/B unit (default: userId). */
  unitId?: string;
  metadata?: Record<string, unknown>;
}

/** Which feedback a query, stats or export covers. `from`/`to` are ISO times (inclusive / exclusive). */
export interface FeedbackFilter {
  modelId?: string;
  userId?: string;
  abTestId?: string;
  type?: string;
  /** Feedback carrying every one of these tags. */
  tags?: string[];
  from?: string;
  to?: string;
}

/** Counts and rating summary of a set of feedback. */
export interface FeedbackSummary {
  count: number;
  ratingCount: number;
  /** Mean of the given ratings; null without ratings. */
  averageRating: number | null;
  /** Number of ratings of each value 1..5. */
  distribution: Record<'1' | '2' | '3' | '4' | '5', number>;
  /** Feedback whose corrected text differs from the output. */
  correctionCount: number;
  /** correctionCount / count (0 when empty). */
  correctionRate: number;
}

/** Query of {@link FeedbackService.stats}. */
export interface FeedbackStatsQuery extends FeedbackFilter {
  /** Also break the summary down per UTC day, per model, or per A/B variant. */
  groupBy?: 'day' | 'model' | 'variant';
}

/** What {@link FeedbackService.stats} returns. */
export interface FeedbackStats extends FeedbackSummary {
  /** Present with `groupBy`: one entry per key (day `YYYY-MM-DD`, model id, or variant name / `(none)`), sorted by key. */
  groups?: Array<FeedbackSummary & { key: string }>;
}

/** Options of {@link FeedbackService.stats}. */
export interface FeedbackStatsOptions {
  /**
   * `auto` (default): from the rollups (per-day counts kept as feedback is recorded) when the query
   * has no `userId` or `tags` and `from`/`to` fall on UTC midnight, else from the records;
   * `records`: always scan the feedback records.
   */
  source?: 'auto' | 'records';
}

/** What {@link FeedbackService.recomputeStats} did. */
export interface FeedbackStatsRebuild {
  /** Feedback records counted. */
  records: number;
  /** Rollup cells written. */
  cells: number;
}

/** Options of {@link FeedbackService.export}. */
export interface ExportFeedbackOptions {
  filter?: FeedbackFilter;
  /**
   * `sft`: corrections → `{ prompt: input, completion: correctedText }`.
   * `preference`: corrections → `{ prompt, chosen: correctedText, rejected: output }`; low-rated
   * outputs without a correction → `{ prompt, chosen: the best output rated ≥ 4 for the same input,
   * rejected: output }` when such an output exists.
   */
  as: 'sft' | 'preference';
  /** Dataset name (default `feedback-sft` / `feedback-preference`). */
  name?: string;
  /** Ratings at or below this are "low" (default 2). */
  lowRatingThreshold?: number;
  description?: string;
}

/** What {@link FeedbackService.export} wrote. */
export interface FeedbackExport {
  version: DatasetVersion;
  rows: number;
  /** Matching feedback that produced no row (no correction; low-rated without a better output). */
  skipped: number;
}

/** Query of {@link FeedbackService.list}. */
export interface FeedbackListQuery extends FeedbackFilter {
  limit?: number;
  cursor?: string;
}

/**
 * `kit.feedback`: user feedback on model outputs (ratings, corrections), its statistics, and its
 * export as training data (the feedback → preference tuning loop).
 */
export interface FeedbackService {
  /**
   * Validates and stores feedback, emits `feedback:recorded`.
   * @throws `FEEDBACK_INVALID_RATING`, `FEEDBACK_TEXT_TOO_LONG`, `VALIDATION_FAILED`, `NOT_FOUND` (A/B test).
   */
  record(input: RecordFeedbackInput, context?: OperationContext): Promise<Feedback>;
  get(id: string): Promise<Feedback | undefined>;
  /** Newest first. */
  list(query?: FeedbackListQuery): Promise<CollectionPage<Feedback>>;
  /**
   * Counts, ratings and corrections of the matching feedback. Answered from rollups (O(cells): one
   * per day, model, A/B test, variant, type and writing process) unless the query filters by user,
   * tags, or times that are not UTC midnight, which scan the records.
   */
  stats(query?: FeedbackStatsQuery, options?: FeedbackStatsOptions): Promise<FeedbackStats>;
  /**
   * Rebuilds the rollups from the feedback records (done by itself the first time `stats` needs
   * them). Exact when no process records feedback meanwhile.
   */
  recomputeStats(context?: OperationContext): Promise<FeedbackStatsRebuild>;
  /** Writes the matching feedback as a new version of a `feedback` dataset through `kit.datasets`. */
  export(options: ExportFeedbackOptions, context?: OperationContext): Promise<FeedbackExport>;
}
