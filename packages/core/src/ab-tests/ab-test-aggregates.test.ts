import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../events/create-event-bus.js';
import { type ABTest, type ABTestUnit, ABTestUnitSchema } from '../schemas/ab-test.js';
import {
  meanConfidenceInterval,
  proportionConfidenceInterval,
  summarize,
  twoProportionZTest,
} from '../statistics/hypothesis-tests.js';
import { createSeededRandom } from '../statistics/seeded-random.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import {
  findPostgresBinaries,
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  startPostgresServer,
} from '../testing/start-postgres-server.js';
import {
  findRedisServer,
  REDIS_SERVER_MISSING_REASON,
  type RedisTestServer,
  startRedisServer,
} from '../testing/start-redis-server.js';
import { type ABTestResults, computeABTestResults, unitValue } from './ab-test-results.js';
import type { ABTestService } from './ab-test-service.js';
import {
  AB_TEST_STATISTICS_SHARDS,
  ABTestStatisticsShardSchema,
  statisticsShardId,
  statisticsShardOf,
} from './ab-test-statistics-shard.js';
import { createABTestService } from './create-ab-test-service.js';
import { newcombeDifferenceInterval, wilsonScoreInterval } from './proportion-intervals.js';

async function unitsOf(storage: Storage, testId: string): Promise<ABTestUnit[]> {
  const units = storage.collection('ab-test-units', ABTestUnitSchema);
  const collected: ABTestUnit[] = [];
  let cursor: string | undefined;
  do {
    const page = await units.list({ filter: { testId }, limit: 1000, cursor });
    collected.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return collected;
}

function expectRelative(
  actual: number | null | undefined,
  expected: number | null | undefined,
  label: string,
) {
  if (expected === null || expected === undefined || actual === null || actual === undefined) {
    expect(actual, label).toBe(expected);
    return;
  }
  if (!Number.isFinite(expected)) {
    expect(actual, label).toBe(expected);
    return;
  }
  const error = Math.abs(actual - expected) / Math.max(1e-300, Math.abs(expected));
  const absolute = Math.abs(actual - expected);
  expect(error <= 1e-9 || absolute <= 1e-15, `${label}: ${actual} vs ${expected}`).toBe(true);
}

/** The results from the statistics equal a full rescan of the unit records: counts exactly, the rest to 1e-9. */
function expectSameResults(incremental: ABTestResults, rescan: ABTestResults) {
  expect(incremental.winner).toBe(rescan.winner);
  expect(incremental.reason).toBe(rescan.reason);
  expect(incremental.sampleRatio.checked).toBe(rescan.sampleRatio.checked);
  expectRelative(incremental.sampleRatio.statistic, rescan.sampleRatio.statistic, 'srm statistic');
  incremental.variants.forEach((variant, index) => {
    const other = rescan.variants[index] as ABTestResults['variants'][number];
    expect(variant.exposures).toBe(other.exposures);
    expect(variant.n).toBe(other.n);
    expect(variant.significant).toBe(other.significant);
    expectRelative(variant.mean, other.mean, `${variant.name} mean`);
    expectRelative(variant.interval?.lower, other.interval?.lower, `${variant.name} interval.lower`);
    expectRelative(variant.interval?.upper, other.interval?.upper, `${variant.name} interval.upper`);
    expectRelative(variant.difference, other.difference, `${variant.name} difference`);
    expectRelative(
      variant.differenceInterval?.lower,
      other.differenceInterval?.lower,
      `${variant.name} Δ lower`,
    );
    expectRelative(
      variant.differenceInterval?.upper,
      other.differenceInterval?.upper,
      `${variant.name} Δ upper`,
    );
    expectRelative(variant.pValue, other.pValue, `${variant.name} pValue`);
    expectRelative(variant.lift, other.lift, `${variant.name} lift`);
  });
}

/**
 * Checks a test's results against the unit records: the full rescan (`computeABTestResults`), and
 * Welford's `summarize` over the raw unit values (the arithmetic of the results before statistics).
 */
async function expectResultsMatchUnits(service: ABTestService, storage: Storage, testId: string) {
  const test = (await service.get(testId)) as ABTest;
  const units = await unitsOf(storage, testId);
  const incremental = await service.results(testId);
  expectSameResults(incremental, computeABTestResults(test, units, new Date(incremental.computedAt)));
  const summaries = test.variants.map((variant) =>
    summarize(
      units
        .filter((unit) => unit.variant === variant.name)
        .map((unit) => unitValue(test, unit))
        .filter((value): value is number => value !== undefined),
    ),
  );
  incremental.variants.forEach((variant, index) => {
    const summary = summaries[index] as ReturnType<typeof summarize>;
    expect(variant.n).toBe(summary.n);
    expect(variant.exposures).toBe(units.filter((unit) => unit.variant === variant.name).length);
    if (summary.n === 0) return;
    expectRelative(variant.mean, summary.mean, `${variant.name} Welford mean`);
    if (test.successMetric.kind !== 'binary') {
      const interval = meanConfidenceInterval(summary, test.alpha);
      expectRelative(variant.interval?.lower, interval.lower, `${variant.name} Welford interval`);
      expectRelative(variant.interval?.upper, interval.upper, `${variant.name} Welford interval`);
    }
  });
  // Nothing left in flight.
  const shards = storage.collection('ab-test-statistics', ABTestStatisticsShardSchema);
  for (let shard = 0; shard < AB_TEST_STATISTICS_SHARDS; shard += 1) {
    const record = await shards.get(statisticsShardId(testId, shard));
    expect(record?.claims).toEqual({});
    expect(record?.rebuild).toBeUndefined();
  }
  return incremental;
}

type Kind = 'binary' | 'numeric' | 'rating';

async function createTest(service: ABTestService, kind: Kind, variants = 3): Promise<ABTest> {
  return service.create({
    name: `${kind} test`,
    variants: Array.from({ length: variants }, (_, index) => ({ modelId: `model-${index}`, weight: 1 })),
    successMetric: { kind, name: 'metric' },
    minSamplesPerVariant: 5,
  });
}

/** A random observation for a unit of `kind`: exposures, and outcomes that make a unit's value change several times. */
function randomObservation(kind: Kind, random: () => number) {
  if (random() < 0.25) return { exposure: true as const };
  if (kind === 'binary') return { outcome: random() < 0.3 };
  if (kind === 'rating') return { outcome: 1 + Math.floor(random() * 5) };
  // Revenue around 1e6 with cents: plain running sums of squares would lose ~1e-4 of the variance.
  return { outcome: 1_000_000 + Math.round((random() - 0.5) * 20_000) / 100 };
}

describe.each(['memory', 'sqlite'] as const)('A/B statistics on %s storage', (driver) => {
  let storage: Storage;
  let directory: string | undefined;
  let service: ABTestService;
  beforeEach(async () => {
    if (driver === 'sqlite') {
      directory = await mkdtemp(join(tmpdir(), 'tunekit-ab-'));
      storage = await createStorage({ driver: 'sqlite', path: join(directory, 'tunekit.sqlite') });
    } else storage = await createStorage({ driver: 'memory' });
    service = createABTestService({ storage, events: createEventBus() });
  });
  afterEach(async () => {
    await storage.close();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  for (const kind of ['binary', 'numeric', 'rating'] as const) {
    it(`${kind}: results from the statistics equal a rescan of the units on random data`, async () => {
      const random = createSeededRandom(kind.length * 7919);
      const test = await createTest(service, kind);
      for (let step = 0; step < 500; step += 1) {
        const unitId = `unit-${Math.floor(random() * 150)}`;
        await service.record(test.id, unitId, randomObservation(kind, random));
        if (step === 250) await expectResultsMatchUnits(service, storage, test.id);
      }
      // In-process concurrency on the same units.
      await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          service.record(test.id, `unit-${index % 20}`, randomObservation(kind, random)),
        ),
      );
      const results = await expectResultsMatchUnits(service, storage, test.id);
      expect(results.variants.reduce((sum, variant) => sum + variant.exposures, 0)).toBeGreaterThan(140);
      const report = await service.recompute(test.id);
      expect(report).toMatchObject({ testId: test.id, changed: false });
      expect(report.units).toBe(results.variants.reduce((sum, variant) => sum + variant.exposures, 0));
    });
  }

  it('rebuilds statistics missing for data written before they existed, and repairs drift', async () => {
    const test = await createTest(service, 'numeric', 2);
    const random = createSeededRandom(42);
    for (let index = 0; index < 120; index += 1) {
      await service.record(test.id, `u${index % 40}`, randomObservation('numeric', random));
    }
    const expected = await expectResultsMatchUnits(service, storage, test.id);
    // As written by an older version: units, no statistics.
    const shards = storage.collection('ab-test-statistics', ABTestStatisticsShardSchema);
    for (let shard = 0; shard < AB_TEST_STATISTICS_SHARDS; shard += 1)
      await shards.delete(statisticsShardId(test.id, shard));
    const restarted = createABTestService({ storage, events: createEventBus() });
    expectSameResults(await restarted.results(test.id), expected);
    // Recording to such a test rebuilds too.
    for (let shard = 0; shard < AB_TEST_STATISTICS_SHARDS; shard += 1)
      await shards.delete(statisticsShardId(test.id, shard));
    await restarted.record(test.id, 'u-new', { outcome: 3 });
    await expectResultsMatchUnits(restarted, storage, test.id);
    // Drift (a shard edited by hand) is found and repaired.
    const drifted = statisticsShardId(test.id, statisticsShardOf('u1'));
    await shards.update(drifted, (shard) => ({
      ...shard,
      variants: shard.variants.map((variant) => ({ ...variant, units: variant.units + 1 })),
    }));
    expect((await restarted.recompute(test.id)).changed).toBe(true);
    await expectResultsMatchUnits(restarted, storage, test.id);
  });

  it('finishes the claims of a writer that crashed before or after writing the unit', async () => {
    const test = await createTest(service, 'numeric', 2);
    await service.record(test.id, 'written', { outcome: 10 });
    await service.record(test.id, 'not-written', { outcome: 20 });
    const units = storage.collection('ab-test-units', ABTestUnitSchema);
    const shards = storage.collection('ab-test-statistics', ABTestStatisticsShardSchema);
    const claim = async (unitId: string, token: string) => {
      const unit = (await units.get(`${test.id}:${unitId}`)) as ABTestUnit;
      await shards.update(statisticsShardId(test.id, statisticsShardOf(unitId)), (shard) => ({
        ...shard,
        claims: {
          ...shard.claims,
          [unitId]: {
            token,
            expiresAt: Date.now() - 1,
            before: {
              version: unit.version,
              variant: unit.variant,
              outcomeCount: unit.outcomeCount,
              outcomeSum: unit.outcomeSum,
              outcomeMax: unit.outcomeMax,
            },
          },
        },
      }));
      return unit;
    };
    // Crashed after step 3: the unit says 10 + 5, the statistics still 10.
    const written = await claim('written', 'dead-1');
    await units.update(written.id, (unit) => ({
      ...unit,
      outcomeCount: unit.outcomeCount + 1,
      outcomeSum: unit.outcomeSum + 5,
      outcomeMax: Math.max(unit.outcomeMax ?? 5, 5),
    }));
    // Crashed after step 2: only the claim.
    const notWritten = await claim('not-written', 'dead-2');
    // A new unit claimed and written, never applied.
    await shards.update(statisticsShardId(test.id, statisticsShardOf('created')), (shard) => ({
      ...shard,
      claims: { ...shard.claims, created: { token: 'dead-3', expiresAt: Date.now() - 1, before: null } },
    }));
    const variant = (await service.assign(test.id, 'created')).variant;
    await units.set({
      ...written,
      id: `${test.id}:created`,
      unitId: 'created',
      variant,
      outcomeCount: 1,
      outcomeSum: 7,
      outcomeMax: 7,
      version: 0,
    });
    const results = await expectResultsMatchUnits(service, storage, test.id);
    expect(results.variants.reduce((sum, entry) => sum + entry.exposures, 0)).toBe(3);
    // The unclaimed write was fenced: a stalled writer's compare-and-set from the old version fails.
    expect((await units.get(notWritten.id))?.version).toBe(notWritten.version + 1);
    // A recorder that meets an expired claim finishes it first.
    await claim('written', 'dead-4');
    await service.record(test.id, 'written', { outcome: 1 });
    await expectResultsMatchUnits(service, storage, test.id);
  });

  it('gives Wilson and Newcombe intervals for binary metrics by default, Wald on request', async () => {
    const test = await createTest(service, 'binary', 2);
    const names = test.variants.map((variant) => variant.name);
    let index = 0;
    const counts = new Map(names.map((name) => [name, { successes: 0, trials: 0 }]));
    while ([...counts.values()].some((count) => count.trials < 30)) {
      const unitId = `user-${index}`;
      const { variant } = await service.assign(test.id, unitId);
      const converted = index % (variant === names[0] ? 5 : 3) === 0;
      await service.record(test.id, unitId, { outcome: converted });
      const count = counts.get(variant) as { successes: number; trials: number };
      count.trials += 1;
      if (converted) count.successes += 1;
      index += 1;
    }
    const control = counts.get(names[0] as string) as { successes: number; trials: number };
    const treatment = counts.get(names[1] as string) as { successes: number; trials: number };
    const wilson = await service.results(test.id);
    expect(wilson.intervalMethod).toBe('wilson');
    expect(wilson.variants[0]?.interval).toEqual(
      wilsonScoreInterval(control.successes, control.trials, 0.05),
    );
    expect(wilson.variants[1]?.differenceInterval).toEqual(
      newcombeDifferenceInterval(control, treatment, 0.05),
    );
    const wald = await service.results(test.id, { binaryIntervals: 'wald' });
    expect(wald.intervalMethod).toBe('wald');
    expect(wald.variants[1]?.interval).toEqual(
      proportionConfidenceInterval(treatment.successes, treatment.trials, 0.05),
    );
    expect(wald.variants[1]?.differenceInterval).toEqual(
      twoProportionZTest(control, treatment, 0.05).differenceInterval,
    );
    expect(wald.variants[1]?.pValue).toBe(wilson.variants[1]?.pValue);
  });
});

/** Two storages on one store stand for two processes: separate connections, locks and caches. */
async function recordFromTwoProcesses(open: () => Promise<Storage>) {
  const first = await open();
  const second = await open();
  try {
    const one = createABTestService({ storage: first, events: createEventBus() });
    const two = createABTestService({ storage: second, events: createEventBus() });
    for (const kind of ['numeric', 'binary', 'rating'] as const) {
      const test = await createTest(one, kind, 2);
      const random = createSeededRandom(kind.length);
      // Overlapping units: both create the same new units and add outcomes to the same ones.
      const plan = (seed: number) => {
        const local = createSeededRandom(seed);
        return Array.from({ length: 150 }, () => ({
          unitId: `unit-${Math.floor(local() * 60)}`,
          observation: randomObservation(kind, random),
        }));
      };
      const writer = async (service: ABTestService, steps: ReturnType<typeof plan>) => {
        // Eight requests in flight per process.
        const queue = [...steps];
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            for (let step = queue.shift(); step !== undefined; step = queue.shift())
              await service.record(test.id, step.unitId, step.observation);
          }),
        );
      };
      await Promise.all([
        writer(one, plan(1)),
        writer(two, plan(2)),
        // A recompute in the middle of it all stays exact.
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          await two.recompute(test.id);
        })(),
      ]);
      const units = await unitsOf(first, test.id);
      expect(units.reduce((sum, unit) => sum + unit.exposures + unit.outcomeCount, 0)).toBe(300);
      await expectResultsMatchUnits(one, first, test.id);
      expectSameResults(await two.results(test.id), await one.results(test.id));
    }
  } finally {
    await first.close();
    await second.close();
  }
}

describe('A/B statistics with two processes on one store', () => {
  it('SQLite: parallel recording from two storages on one file equals a rescan', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-ab-two-'));
    try {
      const path = join(directory, 'tunekit.sqlite');
      await recordFromTwoProcesses(() => createStorage({ driver: 'sqlite', path }));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  const redisAvailable = findRedisServer() !== undefined;
  if (!redisAvailable) console.warn(`A/B Redis concurrency test skipped: ${REDIS_SERVER_MISSING_REASON}`);
  const postgresAvailable = findPostgresBinaries() !== undefined;
  if (!postgresAvailable)
    console.warn(`A/B PostgreSQL concurrency test skipped: ${POSTGRES_SERVER_MISSING_REASON}`);
  let redis: RedisTestServer | undefined;
  let postgres: PostgresTestServer | undefined;
  beforeAll(async () => {
    if (redisAvailable) redis = await startRedisServer();
    if (postgresAvailable) postgres = await startPostgresServer();
  });
  afterAll(async () => {
    await redis?.stop();
    await postgres?.stop();
  });
  it.skipIf(!redisAvailable)(
    `Redis: parallel recording from two connections equals a rescan${redisAvailable ? '' : ` (skipped: ${REDIS_SERVER_MISSING_REASON})`}`,
    async () => {
      await recordFromTwoProcesses(() =>
        createStorage({ driver: 'redis', url: (redis as RedisTestServer).url }),
      );
    },
  );
  it.skipIf(!postgresAvailable)(
    `PostgreSQL: parallel recording from two pools equals a rescan${postgresAvailable ? '' : ` (skipped: ${POSTGRES_SERVER_MISSING_REASON})`}`,
    async () => {
      await recordFromTwoProcesses(() =>
        createStorage({ driver: 'postgres', uri: (postgres as PostgresTestServer).uri }),
      );
    },
  );
});
