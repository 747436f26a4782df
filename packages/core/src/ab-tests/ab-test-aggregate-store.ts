import { randomBytes } from 'node:crypto';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { type ABTest, type ABTestUnit, ABTestUnitSchema } from '../schemas/ab-test.js';
import type { Storage } from '../storage/collection.js';
import {
  AB_TEST_STATISTICS_SHARDS,
  type ABTestStatisticsShard,
  ABTestStatisticsShardSchema,
  type ClaimedUnitState,
  statisticsShardId,
  statisticsShardOf,
  type UnitClaim,
} from './ab-test-statistics-shard.js';
import {
  applyUnitChange,
  emptyVariantStatistics,
  isNeutralUnitChange,
  mergeVariantStatistics,
  type UnitOutcomes,
  type VariantStatistics,
} from './variant-statistics.js';

/** What {@link createABTestAggregateStore} needs. */
export interface ABTestAggregateStoreOptions {
  storage: Storage;
  /**
   * How long a writer's claim on a unit holds (default 30,000 ms). A claim older than this is
   * taken to belong to a crashed writer and is finished by whoever needs the unit next (or by
   * `results`). Keep it well above the longest pause a live writer can have between its writes.
   */
  claimTimeoutMs?: number;
  /** How long a rebuild holds the shards before another process may take over (default 120,000 ms). */
  rebuildTimeoutMs?: number;
}

/** What {@link ABTestAggregateStore.rebuild} found and did. */
export interface ABTestRebuildReport {
  testId: string;
  /** Unit records read. */
  units: number;
  /** Whether the stored statistics differed from the unit records (they were missing, or drifted). */
  changed: boolean;
}

/**
 * The per-variant sufficient statistics of A/B tests, kept in step with the unit records in any
 * storage that several processes share (see {@link createABTestAggregateStore}).
 */
export interface ABTestAggregateStore {
  /** Creates a new test's empty statistics (call before the test can be recorded to). */
  initialize(test: ABTest): Promise<void>;
  /**
   * Changes one unit record and the statistics with it. `change` receives the unit as stored
   * (undefined when new) and returns its next state; it may be called more than once (on
   * contention) and may throw to refuse the change, in which case nothing is written.
   */
  changeUnit(
    test: ABTest,
    unitId: string,
    change: (current: ABTestUnit | undefined) => ABTestUnit,
  ): Promise<ABTestUnit>;
  /** Per-variant statistics in the order of `test.variants` (built from the unit records first when missing). */
  read(test: ABTest): Promise<VariantStatistics[]>;
  /** Recomputes the statistics from the unit records, while recording waits. */
  rebuild(test: ABTest): Promise<ABTestRebuildReport>;
}

type SignalKind = 'busy' | 'expired' | 'missing' | 'moved' | 'lost';

/** Control flow inside compare-and-set updaters; never leaves this module. */
class StoreSignal extends Error {
  constructor(
    readonly kind: SignalKind,
    readonly claim?: UnitClaim,
  ) {
    super(kind);
  }
}

const isSignal = (error: unknown, ...kinds: SignalKind[]): error is StoreSignal =>
  error instanceof StoreSignal && kinds.includes(error.kind);

const isCoded = (error: unknown, code: string) => TunekitError.isInstance(error) && error.code === code;

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Waits a little longer each time (1 ms up to 50 ms, with jitter). */
const backoff = (attempt: number) => sleep(Math.min(50, 1 + attempt) * (0.5 + Math.random()));

const MAX_CONFLICT_RETRIES = 1000;

function stateOf(unit: ABTestUnit): ClaimedUnitState {
  return {
    version: unit.version,
    variant: unit.variant,
    outcomeCount: unit.outcomeCount,
    outcomeSum: unit.outcomeSum,
    outcomeMax: unit.outcomeMax,
  };
}

/**
 * Creates the store of A/B statistics: collection `ab-test-statistics`, 16 shards per test (a
 * unit's shard is a hash of its id), each holding the sufficient statistics of its units per
 * variant and the claims in flight. `results` reads the 16 shards: O(variants), whatever the
 * number of units.
 *
 * Keeping two records in step without transactions, across processes sharing Redis, PostgreSQL or
 * SQLite, uses only the collections' compare-and-set `update`:
 *
 * 1. Read the unit. A change that leaves the unit's metric value as it was (an exposure, a second
 *    conversion) is one compare-and-set of the unit record: the statistics do not move.
 * 2. Otherwise claim the unit in its shard (compare-and-set), recording the unit's state before the
 *    change. A live claim by someone else means wait; an expired one is finished first (below).
 * 3. Write the unit: compare-and-set from the version read in 1 (or, for a new unit, a re-read
 *    under the claim and a write). No one else writes a claimed unit.
 * 4. Apply the change (new contribution − old) to the shard and drop the claim, in one
 *    compare-and-set. Conflicts on a shard are retried.
 *
 * A writer that dies between 2 and 4 leaves an expired claim; whoever finds it re-reads the unit:
 * if its version moved past the claimed state, the write happened and the change is applied from
 * the claimed state to the stored one; otherwise the unit's version is bumped (so a stalled writer's
 * compare-and-set fails) and the claim dropped. One case is not covered: a writer creating a new unit
 * that stalls longer than `claimTimeoutMs` between claiming and writing may add a unit that the
 * statistics miss; `rebuild` repairs that.
 *
 * `rebuild` marks every shard (shard 0 first, which serializes rebuilds), waits for claims in flight
 * to finish, reads every unit record of the test once, and writes each shard's statistics, so it is
 * exact while other processes keep recording (their claims wait). Tests written before statistics
 * existed are rebuilt on first use.
 */
export function createABTestAggregateStore(options: ABTestAggregateStoreOptions): ABTestAggregateStore {
  const claimTimeoutMs = options.claimTimeoutMs ?? 30_000;
  const rebuildTimeoutMs = options.rebuildTimeoutMs ?? 120_000;
  const shards = options.storage.collection('ab-test-statistics', ABTestStatisticsShardSchema);
  const units = options.storage.collection('ab-test-units', ABTestUnitSchema);

  const token = () => randomBytes(8).toString('hex');
  const unitKey = (testId: string, unitId: string) => `${testId}:${unitId}`;
  const shardIds = (testId: string) =>
    Array.from({ length: AB_TEST_STATISTICS_SHARDS }, (_, shard) => statisticsShardId(testId, shard));

  /**
   * The version of each shard as this process last wrote it. Shards are never deleted, so their
   * versions only grow: a shard found at this version has not been written since.
   */
  const writtenVersions = new Map<string, number>();

  /** `update` with retries when another process moved the shard in between. */
  const updateShard = async (
    id: string,
    updater: (shard: ABTestStatisticsShard) => ABTestStatisticsShard,
  ): Promise<ABTestStatisticsShard> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const stored = await shards.update(id, updater);
        writtenVersions.set(id, stored.version ?? 0);
        return stored;
      } catch (error) {
        if (!isCoded(error, 'CONFLICT') || attempt >= MAX_CONFLICT_RETRIES) throw error;
        if (attempt % 4 === 0) await backoff(attempt);
      }
    }
  };

  /** Moves a unit's contribution within a shard from `before` to `after`. */
  const applyToShard = (
    test: ABTest,
    shard: ABTestStatisticsShard,
    before: UnitOutcomes & { variant: string },
    after: (UnitOutcomes & { variant: string }) | undefined,
    created: boolean,
  ): ABTestStatisticsShard => {
    const variants = [...shard.variants];
    const index = test.variants.findIndex((variant) => variant.name === (after ?? before).variant);
    const current = variants[index];
    if (current === undefined) return shard;
    variants[index] = applyUnitChange(current, test.successMetric.kind, created ? undefined : before, after);
    return { ...shard, variants };
  };

  /** Finishes the claim `claim` on `unitId` left by a writer that did not finish it in time. */
  const recoverClaim = async (test: ABTest, shardId: string, unitId: string, claim: UnitClaim) => {
    const key = unitKey(test.id, unitId);
    for (;;) {
      const unit = await units.get(key);
      const before = claim.before;
      const written =
        before === null ? unit !== undefined : unit !== undefined && unit.version !== before.version;
      if (!written && unit !== undefined && before !== null) {
        try {
          // Fence: a stalled writer's compare-and-set from this version now fails.
          await units.update(key, (current) => {
            if (current.version !== before.version) throw new StoreSignal('moved');
            return current;
          });
        } catch (error) {
          if (isSignal(error, 'moved') || isCoded(error, 'CONFLICT')) continue;
          throw error;
        }
      }
      await updateShard(shardId, (shard) => {
        if (shard.claims[unitId]?.token !== claim.token) return shard;
        const claims = { ...shard.claims };
        delete claims[unitId];
        const next = { ...shard, claims };
        if (!written || unit === undefined) return next;
        return before === null
          ? applyToShard(test, next, unit, unit, true)
          : applyToShard(test, next, before, unit, false);
      });
      return;
    }
  };

  const releaseClaim = async (shardId: string, unitId: string, claimToken: string) => {
    await updateShard(shardId, (shard) => {
      if (shard.claims[unitId]?.token !== claimToken) return shard;
      const claims = { ...shard.claims };
      delete claims[unitId];
      return { ...shard, claims };
    });
  };

  /** Reads every unit record of a test in one pass (the predicate of `count` runs once per record). */
  const forEachUnit = async (testId: string, visit: (unit: ABTestUnit) => void) => {
    await units.count((unit) => {
      if (unit.testId === testId) visit(unit);
      return false;
    });
  };

  const emptyShard = (test: ABTest, shard: number, ready: boolean): ABTestStatisticsShard => ({
    id: statisticsShardId(test.id, shard),
    testId: test.id,
    shard,
    ready,
    variants: test.variants.map(() => emptyVariantStatistics()),
    claims: {},
    version: 0,
  });

  /** Whether every shard of the test exists and holds statistics. */
  const isBuilt = async (testId: string) =>
    (await Promise.all(shardIds(testId).map((id) => shards.get(id)))).every((shard) => shard?.ready === true);

  /** Drops this rebuild's marks (after losing a shard to another rebuild). */
  const releaseMarks = async (ids: string[], rebuildToken: string) => {
    for (const id of ids) {
      await updateShard(id, (current) => {
        if (current.rebuild?.token !== rebuildToken) return current;
        const { rebuild: _released, ...rest } = current;
        return rest;
      }).catch((error) => {
        if (!isCoded(error, 'NOT_FOUND')) throw error;
      });
    }
  };

  /** One rebuild attempt; throws `lost` when another rebuild holds or took a shard. */
  const rebuildOnce = async (
    test: ABTest,
    onlyIfNeeded: boolean,
  ): Promise<ABTestRebuildReport | undefined> => {
    const rebuildToken = token();
    const ids = shardIds(test.id);
    // 1. Mark every shard, shard 0 first: a second rebuild waits there for the first to finish.
    for (const [shard, id] of ids.entries()) {
      const mark = { token: rebuildToken, expiresAt: Date.now() + rebuildTimeoutMs };
      try {
        await updateShard(id, (current) => {
          if (
            current.rebuild !== undefined &&
            current.rebuild.token !== rebuildToken &&
            current.rebuild.expiresAt > Date.now()
          ) {
            throw new StoreSignal('busy');
          }
          return { ...current, rebuild: mark };
        });
      } catch (error) {
        if (isCoded(error, 'NOT_FOUND')) {
          writtenVersions.delete(id);
          await shards.set({ ...emptyShard(test, shard, false), rebuild: mark });
        } else if (isSignal(error, 'busy') && shard === 0) {
          // Another rebuild is under way: wait for it; its result is as good as ours.
          for (let attempt = 0; ; attempt += 1) {
            const current = await shards.get(id);
            if (current?.rebuild === undefined || current.rebuild.expiresAt <= Date.now()) break;
            await backoff(attempt);
          }
          if (onlyIfNeeded && (await isBuilt(test.id))) return undefined;
          throw new StoreSignal('lost');
        } else if (isSignal(error, 'busy')) {
          await releaseMarks(ids.slice(0, shard), rebuildToken);
          throw new StoreSignal('lost');
        } else throw error;
      }
    }
    // 2. Wait for the claims in flight (new ones wait for the rebuild), finishing expired ones.
    for (let attempt = 0; ; attempt += 1) {
      const current = await Promise.all(ids.map((id) => shards.require(id)));
      if (current.some((shard) => shard.rebuild?.token !== rebuildToken)) {
        await releaseMarks(ids, rebuildToken);
        throw new StoreSignal('lost');
      }
      let pending = false;
      for (const shard of current) {
        for (const [unitId, claim] of Object.entries(shard.claims)) {
          if (claim.expiresAt <= Date.now()) await recoverClaim(test, shard.id, unitId, claim);
          else pending = true;
        }
      }
      if (!pending) break;
      await backoff(attempt);
    }
    // 3. One pass over the unit records.
    const rebuilt = ids.map((_, shard) => emptyShard(test, shard, true));
    let count = 0;
    await forEachUnit(test.id, (unit) => {
      count += 1;
      const shard = rebuilt[statisticsShardOf(unit.unitId)] as ABTestStatisticsShard;
      rebuilt[shard.shard] = applyToShard(test, shard, unit, unit, true);
    });
    // 4. Write each shard (shard 0 last: it releases waiting rebuilds).
    let changed = false;
    for (let shard = ids.length - 1; shard >= 0; shard -= 1) {
      await updateShard(ids[shard] as string, (current) => {
        if (current.rebuild?.token !== rebuildToken) throw rebuildLost(test.id);
        const target = rebuilt[shard] as ABTestStatisticsShard;
        if (!current.ready || !sameStatistics(current.variants, target.variants)) changed = true;
        const { rebuild: _released, ...rest } = current;
        return { ...rest, ready: true, variants: target.variants };
      });
    }
    return { testId: test.id, units: count, changed };
  };

  /**
   * Rebuilds the statistics of a test; with `onlyIfNeeded`, returns undefined when another
   * process's rebuild finished them meanwhile.
   */
  const rebuildWith = async (test: ABTest, onlyIfNeeded: boolean) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await rebuildOnce(test, onlyIfNeeded);
      } catch (error) {
        if (!isSignal(error, 'lost')) throw error;
        if (attempt >= 50) throw rebuildLost(test.id);
        await backoff(attempt * 4);
      }
    }
  };

  const rebuild = async (test: ABTest): Promise<ABTestRebuildReport> =>
    (await rebuildWith(test, false)) as ABTestRebuildReport;

  /** Rebuilds when the statistics are missing, or waits while another process does. */
  const ensureBuilt = async (test: ABTest) => {
    if (!(await isBuilt(test.id))) await rebuildWith(test, true);
  };

  return {
    async initialize(test) {
      await Promise.all(
        Array.from({ length: AB_TEST_STATISTICS_SHARDS }, (_, shard) => {
          writtenVersions.delete(statisticsShardId(test.id, shard));
          return shards.set(emptyShard(test, shard, true));
        }),
      );
    },

    async changeUnit(test, unitId, change) {
      const key = unitKey(test.id, unitId);
      const kind = test.successMetric.kind;
      const shardId = statisticsShardId(test.id, statisticsShardOf(unitId));
      for (let attempt = 0; ; attempt += 1) {
        // Taken before reading the unit: if the shard still has this version when we claim, nobody
        // created the unit in between (creating one writes its shard), so a new unit needs no re-read.
        const knownVersion = writtenVersions.get(shardId);
        const before = await units.get(key);
        const proposed = change(before);
        if (before !== undefined && isNeutralUnitChange(kind, before, proposed)) {
          // The metric value stays: one compare-and-set of the unit, the statistics do not move.
          try {
            return await units.update(key, (current) => {
              const next = change(current);
              if (!isNeutralUnitChange(kind, current, next)) throw new StoreSignal('moved');
              return next;
            });
          } catch (error) {
            if (isSignal(error, 'moved') || isCoded(error, 'CONFLICT')) continue;
            throw error;
          }
        }
        const claimToken = token();
        let shardUnchanged = false;
        try {
          await updateShard(shardId, (shard) => {
            shardUnchanged = knownVersion !== undefined && shard.version === knownVersion;
            const now = Date.now();
            if (shard.rebuild !== undefined && shard.rebuild.expiresAt > now) throw new StoreSignal('busy');
            if (!shard.ready) throw new StoreSignal('missing');
            const existing = shard.claims[unitId];
            if (existing !== undefined)
              throw new StoreSignal(existing.expiresAt > now ? 'busy' : 'expired', existing);
            const { rebuild: _expired, ...rest } = shard;
            return {
              ...rest,
              claims: {
                ...shard.claims,
                [unitId]: {
                  token: claimToken,
                  expiresAt: now + claimTimeoutMs,
                  before: before === undefined ? null : stateOf(before),
                },
              },
            };
          });
        } catch (error) {
          if (isCoded(error, 'NOT_FOUND') || isSignal(error, 'missing')) await ensureBuilt(test);
          else if (isSignal(error, 'busy')) await backoff(attempt);
          else if (isSignal(error, 'expired') && error.claim !== undefined)
            await recoverClaim(test, shardId, unitId, error.claim);
          else throw error;
          continue;
        }
        let stored: ABTestUnit;
        try {
          if (before === undefined) {
            // Nobody else writes a claimed unit, but it may have been created before the claim.
            if (!shardUnchanged && (await units.get(key)) !== undefined) throw new StoreSignal('moved');
            stored = await units.set({ ...change(undefined), version: 0 });
          } else {
            stored = await units.update(key, (current) => {
              if (current.version !== before.version) throw new StoreSignal('moved');
              return change(current);
            });
          }
        } catch (error) {
          await releaseClaim(shardId, unitId, claimToken);
          if (isSignal(error, 'moved') || isCoded(error, 'CONFLICT')) continue;
          throw error;
        }
        await updateShard(shardId, (shard) => {
          // A claim that expired and was finished by someone else: they applied this change.
          if (shard.claims[unitId]?.token !== claimToken) return shard;
          const claims = { ...shard.claims };
          delete claims[unitId];
          return applyToShard(test, { ...shard, claims }, before ?? stored, stored, before === undefined);
        });
        return stored;
      }
    },

    async read(test) {
      const ids = shardIds(test.id);
      for (;;) {
        const current = await Promise.all(ids.map((id) => shards.get(id)));
        if (current.some((shard) => shard === undefined || !shard.ready)) {
          await ensureBuilt(test);
          continue;
        }
        const loaded = current as ABTestStatisticsShard[];
        const now = Date.now();
        const expired = loaded.flatMap((shard) =>
          Object.entries(shard.claims)
            .filter(([, claim]) => claim.expiresAt <= now)
            .map(([unitId, claim]) => ({ shardId: shard.id, unitId, claim })),
        );
        if (expired.length > 0) {
          for (const entry of expired) await recoverClaim(test, entry.shardId, entry.unitId, entry.claim);
          continue;
        }
        return test.variants.map((_, index) =>
          loaded.reduce(
            (total, shard) =>
              mergeVariantStatistics(total, shard.variants[index] ?? emptyVariantStatistics()),
            emptyVariantStatistics(),
          ),
        );
      }
    },

    rebuild,
  };
}

function rebuildLost(testId: string): TunekitError {
  return tunekitError(
    'CONFLICT',
    `Rebuilding the statistics of A/B test "${testId}" lost its shards to another process (it ran past rebuildTimeoutMs, or kept colliding with other rebuilds)`,
    { testId },
  );
}

/** Equal counts, and sums equal to 1e-12 relative. */
function sameStatistics(left: VariantStatistics[], right: VariantStatistics[]): boolean {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
  return (
    left.length === right.length &&
    left.every((entry, index) => {
      const other = right[index] as VariantStatistics;
      return (
        entry.units === other.units &&
        entry.n === other.n &&
        close(entry.sum[0] + entry.sum[1], other.sum[0] + other.sum[1]) &&
        close(entry.sumOfSquares[0] + entry.sumOfSquares[1], other.sumOfSquares[0] + other.sumOfSquares[1])
      );
    })
  );
}
