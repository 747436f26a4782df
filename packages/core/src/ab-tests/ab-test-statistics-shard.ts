import { z } from 'zod';
import { fnv1a32 } from './fnv1a.js';
import { VariantStatisticsSchema } from './variant-statistics.js';

/**
 * Number of statistics shards per test. A unit's shard is `fnv1a32(unitId) % 16`: writers of
 * different units rarely contend for the same record, and `results` reads 16 small records.
 */
export const AB_TEST_STATISTICS_SHARDS = 16;

/** The state of a unit that a claim saw before its change (what recovery needs to finish it). */
export const ClaimedUnitStateSchema = z.object({
  version: z.number().int().min(0),
  variant: z.string(),
  outcomeCount: z.number().int().min(0),
  outcomeSum: z.number(),
  outcomeMax: z.number().nullable(),
});
/** The state of a unit that a claim saw before its change. */
export type ClaimedUnitState = z.infer<typeof ClaimedUnitStateSchema>;

/**
 * A writer's claim on one unit while it changes the unit record and then the statistics: nobody
 * else changes the unit meanwhile, and a claim left by a crashed writer is finished by whoever finds
 * it expired (see `createABTestAggregateStore`).
 */
export const UnitClaimSchema = z.object({
  token: z.string(),
  /** Epoch milliseconds. */
  expiresAt: z.number(),
  /** The unit before the change; null when it did not exist. */
  before: ClaimedUnitStateSchema.nullable(),
});
/** A writer's claim on one unit. */
export type UnitClaim = z.infer<typeof UnitClaimSchema>;

/**
 * One shard of a test's per-variant sufficient statistics (collection `ab-test-statistics`, id
 * `<testId>:<shard>`): the statistics of the units that hash to it, plus the claims in flight.
 */
export const ABTestStatisticsShardSchema = z.object({
  /** `<testId>:<shard>`. */
  id: z.string().min(1),
  testId: z.string().min(1),
  shard: z.number().int().min(0),
  /** False until the statistics were computed from the unit records (data written before they existed). */
  ready: z.boolean(),
  /** A rebuild in progress: claims wait until it ends or expires. */
  rebuild: z.object({ token: z.string(), expiresAt: z.number() }).optional(),
  /** In the order of the test's variants. */
  variants: z.array(VariantStatisticsSchema),
  /** Claims in flight, by unit id. */
  claims: z.record(z.string(), UnitClaimSchema),
  version: z.number().int().min(0).default(0),
});
/** One shard of a test's per-variant sufficient statistics. */
export type ABTestStatisticsShard = z.infer<typeof ABTestStatisticsShardSchema>;

/** The shard of a unit. */
export function statisticsShardOf(unitId: string): number {
  return fnv1a32(unitId) % AB_TEST_STATISTICS_SHARDS;
}

/** The record id of shard `shard` of test `testId`. */
export function statisticsShardId(testId: string, shard: number): string {
  return `${testId}:${shard}`;
}
