import { z } from 'zod';

/** Number of hash buckets a test's traffic is divided into (GrowthBook's v2 hash resolution). */
export const AB_TEST_BUCKETS = 10_000;

/** Status of an A/B test. Paused tests send everyone to control; completed tests send everyone to the winner. */
export const ABTestStatusSchema = z.enum(['active', 'paused', 'completed']);
/** Status of an A/B test. */
export type ABTestStatus = z.infer<typeof ABTestStatusSchema>;

/** How success is measured: a 0/1 conversion, a number (revenue, latency), or a 1–5 rating. */
export const SuccessMetricSchema = z.object({
  kind: z.enum(['binary', 'numeric', 'rating']),
  name: z.string().min(1).max(128),
  /** Whether a higher (default) or a lower value is better. */
  direction: z.enum(['increase', 'decrease']).default('increase'),
});
/** How success is measured. */
export type SuccessMetric = z.infer<typeof SuccessMetricSchema>;

/** One arm of a test. The first variant is the control. */
export const ABTestVariantSchema = z.object({
  /** Unique within the test (defaults to the model id). */
  name: z.string().min(1).max(128),
  modelId: z.string().min(1),
  /** Relative traffic share (normalized over all variants). */
  weight: z.number().min(0),
});
/** One arm of a test. */
export type ABTestVariant = z.infer<typeof ABTestVariantSchema>;

/** A range of hash buckets `[start, end)` owned by the variant at index `variant`. */
export const BucketRangeSchema = z.object({
  variant: z.number().int().min(0),
  start: z.number().int().min(0).max(AB_TEST_BUCKETS),
  end: z.number().int().min(0).max(AB_TEST_BUCKETS),
});
/** A range of hash buckets owned by one variant. */
export type BucketRange = z.infer<typeof BucketRangeSchema>;

/** A stored A/B test. */
export const ABTestSchema = z.object({
  /** `abt_` + random hex. */
  id: z.string().min(1),
  name: z.string().min(1).max(256),
  description: z.string().max(4096).optional(),
  status: ABTestStatusSchema,
  variants: z.array(ABTestVariantSchema).min(2),
  successMetric: SuccessMetricSchema,
  minSamplesPerVariant: z.number().int().min(1),
  /** Significance level of the tests (default 0.05). */
  alpha: z.number().gt(0).lt(1),
  /** Hash seed (defaults to the test id): the unit hash is fnv1a(String(fnv1a(seed + unitId))) mod 10000. */
  seed: z.string().min(1),
  /**
   * Which variant owns each bucket: disjoint ranges covering `[0, 10000)`. Changing weights moves
   * only the buckets that must change hands (see `reallocateBuckets`).
   */
  allocation: z.array(BucketRangeSchema),
  /** Name of the winning variant, once concluded (null when concluded without a winner). */
  winner: z.string().nullable().optional(),
  /** Snapshot of the results at conclusion. */
  results: z.unknown().optional(),
  owner: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  completedAt: z.string().optional(),
  version: z.number().int().min(0).default(0),
});
/** A stored A/B test. */
export type ABTest = z.infer<typeof ABTestSchema>;

/**
 * What one unit (user, session) did in one test: its variant (fixed at its first record), exposures
 * and the running aggregates of its outcomes.
 */
export const ABTestUnitSchema = z.object({
  /** `<testId>:<unitId>`. */
  id: z.string().min(1),
  testId: z.string().min(1),
  unitId: z.string().min(1),
  variant: z.string().min(1),
  exposures: z.number().int().min(0),
  outcomeCount: z.number().int().min(0),
  outcomeSum: z.number(),
  outcomeMax: z.number().nullable(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  version: z.number().int().min(0).default(0),
});
/** What one unit did in one test. */
export type ABTestUnit = z.infer<typeof ABTestUnitSchema>;
