import { z } from 'zod';

/**
 * One piece of user feedback on a model output: a 1–5 rating, a
 * corrected text, or both, optionally linked to an A/B test.
 */
export const FeedbackSchema = z.object({
  /** `fb_` + random hex. */
  id: z.string().min(1),
  modelId: z.string().min(1),
  userId: z.string().min(1),
  sessionId: z.string().optional(),
  input: z.string(),
  output: z.string(),
  correctedText: z.string().optional(),
  rating: z.number().int().min(1).max(5).optional(),
  /** Kind of feedback, e.g. `rating`, `correction`, `thumbs`, `report`. */
  type: z.string().min(1).max(64),
  /** What the model was asked to do (e.g. `summarize`, `translate`); feedback is grouped by it. */
  transformationType: z.string().max(128).optional(),
  tags: z.array(z.string().min(1).max(64)).max(32),
  abTestId: z.string().optional(),
  /** The A/B unit (defaults to the user id). */
  unitId: z.string().optional(),
  /** The A/B variant the unit was in when the feedback was recorded. */
  variant: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  createdAt: z.string(),
  version: z.number().int().min(0).default(0),
});
/** One piece of feedback. */
export type Feedback = z.infer<typeof FeedbackSchema>;
