import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Feedback } from '../schemas/feedback.js';

/**
 * Counts of the feedback of one UTC day, model, A/B test, variant and type, written by one feedback
 * service instance (`writer`). Only that instance writes its cells, so processes sharing a store
 * never contend for one; `stats` adds the cells of every writer. Collection `feedback-rollups`.
 */
export const FeedbackRollupSchema = z.object({
  /** `<writer>:<digest of the dimensions>`. */
  id: z.string().min(1),
  writer: z.string().min(1),
  /** UTC date `YYYY-MM-DD` of `createdAt`. */
  day: z.string(),
  modelId: z.string(),
  abTestId: z.string().optional(),
  variant: z.string().optional(),
  type: z.string(),
  count: z.number().int().min(0),
  ratingCount: z.number().int().min(0),
  /** Sum of the ratings (an integer, exact). */
  ratingSum: z.number().int().min(0),
  /** Number of ratings 1..5. */
  distribution: z.array(z.number().int().min(0)).length(5),
  correctionCount: z.number().int().min(0),
  version: z.number().int().min(0).default(0),
});
/** Counts of the feedback of one day, model, A/B test, variant and type, from one writer. */
export type FeedbackRollup = z.infer<typeof FeedbackRollupSchema>;

/** When the rollups were last rebuilt from the feedback records (collection `feedback-rollup-state`, id `state`). */
export const FeedbackRollupStateSchema = z.object({
  id: z.literal('state'),
  /** ISO time of the last rebuild. */
  rebuiltAt: z.string(),
  /** Feedback records counted by it. */
  records: z.number().int().min(0),
  version: z.number().int().min(0).default(0),
});
/** When the rollups were last rebuilt. */
export type FeedbackRollupState = z.infer<typeof FeedbackRollupStateSchema>;

/** The rollup cell of `feedback` for `writer`, counting nothing yet. */
export function emptyFeedbackRollup(writer: string, feedback: Feedback): FeedbackRollup {
  const dimensions = {
    day: feedback.createdAt.slice(0, 10),
    modelId: feedback.modelId,
    abTestId: feedback.abTestId,
    variant: feedback.variant,
    type: feedback.type,
  };
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        dimensions.day,
        dimensions.modelId,
        dimensions.abTestId ?? null,
        dimensions.variant ?? null,
        dimensions.type,
      ]),
    )
    .digest('base64url')
    .slice(0, 32);
  return {
    id: `${writer}:${digest}`,
    writer,
    ...dimensions,
    count: 0,
    ratingCount: 0,
    ratingSum: 0,
    distribution: [0, 0, 0, 0, 0],
    correctionCount: 0,
    version: 0,
  };
}

/** The cell with one more feedback counted (`corrected`: a correction that differs from the output). */
export function addToFeedbackRollup(
  cell: FeedbackRollup,
  feedback: Feedback,
  corrected: boolean,
): FeedbackRollup {
  const distribution = [...cell.distribution];
  if (feedback.rating !== undefined) {
    distribution[feedback.rating - 1] = (distribution[feedback.rating - 1] as number) + 1;
  }
  return {
    ...cell,
    count: cell.count + 1,
    ratingCount: cell.ratingCount + (feedback.rating === undefined ? 0 : 1),
    ratingSum: cell.ratingSum + (feedback.rating ?? 0),
    distribution,
    correctionCount: cell.correctionCount + (corrected ? 1 : 0),
  };
}
