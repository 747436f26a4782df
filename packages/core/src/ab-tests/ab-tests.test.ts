import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HARNESS_DRIVERS,
  openServiceHarness,
  type ServiceTestHarness,
} from '../evaluators/service-test-harness.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { ABTest, ABTestUnit } from '../schemas/ab-test.js';
import { loadEvaluationReference } from '../statistics/reference-fixture.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import { computeABTestResults } from './ab-test-results.js';
import type { ABTestService } from './ab-test-service.js';
import { allocateBuckets, bucketCounts, reallocateBuckets } from './bucket-allocation.js';
import { createABTestService } from './create-ab-test-service.js';
import { fnv1a32, growthBookHashV2 } from './fnv1a.js';

const reference = loadEvaluationReference();

describe('hashing', () => {
  it('is FNV-1a 32-bit (reference vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
  it("matches GrowthBook's v2 hash vectors (sdk-js test/cases.json)", () => {
    const vectors: Array<[string, string, number]> = [
      ['seed', 'a', 0.0505],
      ['seed', 'b', 0.2696],
      ['foo', 'ab', 0.2575],
      ['foo', 'def', 0.2019],
      ['89123klj', '8952klfjas09ujkasdf', 0.124],
      ['90850943850283058242805', '123', 0.7516],
      ['()**(%$##$%#$#', '___)((*":&', 0.0128],
    ];
    for (const [seed, value, expected] of vectors) expect(growthBookHashV2(seed, value)).toBe(expected);
  });
});

describe('bucket allocation', () => {
  it('turns weights into 10000 buckets', () => {
    expect(bucketCounts([1, 1, 1])).toEqual([3334, 3333, 3333]);
    expect(bucketCounts([70, 30])).toEqual([7000, 3000]);
    expect(() => bucketCounts([0, 0])).toThrow(/weights/);
  });
  it('moves only the surplus buckets when weights change', () => {
    const before = allocateBuckets([1, 1, 1]);
    const { allocation, movedBuckets } = reallocateBuckets(before, [50, 25, 25]);
    // 3333 + 3333 buckets hold 3333 → 2500 each: 833 + 833 move, all to variant 0.
    expect(movedBuckets).toBe(1666);
    const owner = (ranges: typeof before, bucket: number) =>
      ranges.find((range) => bucket >= range.start && bucket < range.end)?.variant;
    let changed = 0;
    for (let bucket = 0; bucket < 10_000; bucket += 1) {
      if (owner(before, bucket) !== owner(allocation, bucket)) {
        changed += 1;
        expect(owner(allocation, bucket)).toBe(0);
      }
    }
    expect(changed).toBe(1666);
  });
});

/** Counts collection writes and reads, to prove assignment touches no storage. */
function countingStorage(inner: Storage) {
  const counts = { set: 0, get: 0 };
  const storage: Storage = {
    collection(name, schema) {
      const collection = inner.collection(name, schema);
      return {
        ...collection,
        name: collection.name,
        schema: collection.schema,
        get: (id: string) => {
          counts.get += 1;
          return collection.get(id);
        },
        set: (record: Parameters<typeof collection.set>[0]) => {
          counts.set += 1;
          return collection.set(record);
        },
      } as typeof collection;
    },
    close: () => inner.close(),
  };
  return { storage, counts };
}

describe('assignment', () => {
  let service: ABTestService;
  let storage: Storage;
  let counts: { set: number; get: number };
  beforeEach(async () => {
    ({ storage, counts } = countingStorage(await createStorage({ driver: 'memory' })));
    service = createABTestService({ storage, events: createEventBus() });
  });

  it('spreads 100,000 units within 1% of the weights, deterministically, with no storage access', async () => {
    const test = await service.create({
      name: 'split',
      variants: [
        { modelId: 'a', weight: 50 },
        { modelId: 'b', weight: 30 },
        { modelId: 'c', weight: 20 },
      ],
      successMetric: { kind: 'binary', name: 'converted' },
    });
    const before = { ...counts };
    const tally: Record<string, number> = { a: 0, b: 0, c: 0 };
    const assign = await service.assigner(test.id);
    for (let index = 0; index < 100_000; index += 1) {
      const unitId = `user-${index}`;
      const assignment = assign(unitId);
      tally[assignment.variant] = (tally[assignment.variant] as number) + 1;
      if (index % 1000 === 0) expect(await service.assign(test.id, unitId)).toEqual(assignment);
    }
    expect(counts).toEqual(before);
    expect(Math.abs((tally.a as number) / 100_000 - 0.5)).toBeLessThan(0.01);
    expect(Math.abs((tally.b as number) / 100_000 - 0.3)).toBeLessThan(0.01);
    expect(Math.abs((tally.c as number) / 100_000 - 0.2)).toBeLessThan(0.01);
    // Sticky across service instances (a restart): the same stored seed and allocation.
    const restarted = createABTestService({ storage, events: createEventBus() });
    for (let index = 0; index < 500; index += 1) {
      expect((await restarted.assign(test.id, `user-${index}`)).variant).toBe(
        assign(`user-${index}`).variant,
      );
    }
  });

  it('moves only the units it must when weights change', async () => {
    const test = await service.create({
      name: 'rebalance',
      variants: [
        { modelId: 'a', weight: 1 },
        { modelId: 'b', weight: 1 },
        { modelId: 'c', weight: 1 },
      ],
      successMetric: { kind: 'numeric', name: 'revenue' },
    });
    const unitIds = Array.from({ length: 30_000 }, (_, index) => `unit-${index}`);
    const before = await Promise.all(unitIds.map((unitId) => service.assign(test.id, unitId)));
    await service.update(test.id, { weights: { a: 50, b: 25, c: 25 } });
    const after = await Promise.all(unitIds.map((unitId) => service.assign(test.id, unitId)));
    let changed = 0;
    after.forEach((assignment, index) => {
      if (assignment.variant !== before[index]?.variant) {
        changed += 1;
        expect(assignment.variant).toBe('a');
        expect(before[index]?.variant).not.toBe('a');
      }
    });
    // Minimum possible: total-variation distance 1/6; GrowthBook's cumulative ranges would move 1/3.
    expect(Math.abs(changed / unitIds.length - 1 / 6)).toBeLessThan(0.01);
  });
});

function unit(
  testId: string,
  variant: string,
  index: number,
  outcome: number | null,
  exposures = 1,
): ABTestUnit {
  return {
    id: `${testId}:${variant}-${index}`,
    testId,
    unitId: `${variant}-${index}`,
    variant,
    exposures,
    outcomeCount: outcome === null ? 0 : 1,
    outcomeSum: outcome ?? 0,
    outcomeMax: outcome,
    firstSeenAt: '2025-01-01T00:00:00.000Z',
    lastSeenAt: '2025-01-01T00:00:00.000Z',
    version: 0,
  };
}

function testRecord(
  kind: 'binary' | 'numeric' | 'rating',
  weights = [50, 50],
  minSamplesPerVariant = 100,
): ABTest {
  return {
    id: 'abt_fixture',
    name: 'fixture',
    status: 'active',
    variants: weights.map((weight, index) => ({
      name: index === 0 ? 'control' : `treatment-${index}`,
      modelId: `m${index}`,
      weight,
    })),
    successMetric: { kind, name: 'metric', direction: 'increase' },
    minSamplesPerVariant,
    alpha: 0.05,
    seed: 'abt_fixture',
    allocation: allocateBuckets(weights),
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    version: 0,
  };
}

describe('results statistics against scipy', () => {
  for (const entry of reference.twoProportion.cases) {
    it(`binary ${entry.control} vs ${entry.treatment}: two-proportion z-test`, () => {
      const test = testRecord('binary', [entry.control[1], entry.treatment[1]], 10);
      const units: ABTestUnit[] = [];
      ['control', 'treatment-1'].forEach((variant, position) => {
        const [successes, trials] = position === 0 ? entry.control : entry.treatment;
        for (let index = 0; index < trials; index += 1)
          units.push(unit(test.id, variant, index, index < successes ? 1 : null));
      });
      const results = computeABTestResults(test, units);
      const treatment = results.variants[1];
      expect(results.test).toBe('two-proportion-z');
      expect(treatment?.n).toBe(entry.treatment[1]);
      expect(treatment?.pValue).toBeCloseTo(entry.pValue, 10);
      expect(treatment?.lift).toBeCloseTo(
        (entry.treatment[0] / entry.treatment[1] - entry.control[0] / entry.control[1]) /
          (entry.control[0] / entry.control[1]),
        12,
      );
      expect(results.winner).toBe(entry.pValue < 0.05 ? 'treatment-1' : null);
    });
  }
  reference.welch.cases.forEach(
    (
      entry: { control: number[]; treatment: number[]; pValue: number; differenceInterval: number[] },
      caseIndex: number,
    ) => {
      it(`numeric case ${caseIndex}: Welch's t-test`, () => {
        const test = testRecord('numeric', [entry.control.length, entry.treatment.length], 5);
        const units = [
          ...entry.control.map((value, index) => unit(test.id, 'control', index, value)),
          ...entry.treatment.map((value, index) => unit(test.id, 'treatment-1', index, value)),
        ];
        const results = computeABTestResults(test, units);
        expect(results.test).toBe('welch-t');
        expect(results.variants[1]?.pValue).toBeCloseTo(entry.pValue, 9);
        expect(results.variants[1]?.differenceInterval?.lower).toBeCloseTo(
          entry.differenceInterval[0] as number,
          9,
        );
      });
    },
  );
  for (const entry of reference.chiSquare.cases) {
    it(`SRM check ${entry.observed} ~ ${entry.weights}`, () => {
      const test = testRecord('binary', entry.weights, 10);
      const units: ABTestUnit[] = [];
      entry.observed.forEach((count: number, position: number) => {
        const variant = test.variants[position]?.name as string;
        for (let index = 0; index < count; index += 1) units.push(unit(test.id, variant, index, null));
      });
      const results = computeABTestResults(test, units);
      expect(results.sampleRatio.checked).toBe(true);
      // Expected shares are the bucket shares (1/3 → 3334/3333/3333 of 10000): exact only when weights divide evenly.
      const exact = bucketCounts(entry.weights).every(
        (count, position) =>
          Math.abs(
            count / 10_000 -
              entry.weights[position] / entry.weights.reduce((a: number, b: number) => a + b, 0),
          ) < 1e-12,
      );
      if (exact) expect(results.sampleRatio.statistic).toBeCloseTo(entry.statistic, 6);
      else expect(results.sampleRatio.statistic).toBeCloseTo(entry.statistic, 0);
      expect(results.sampleRatio.flagged).toBe(entry.pValue < 0.001);
      if (results.sampleRatio.flagged) {
        expect(results.winner).toBeNull();
        expect(results.reason).toBe('sample-ratio-mismatch');
      }
    });
  }
});

describe.each(HARNESS_DRIVERS)('A/B service on %s storage', (driver) => {
  let harness: ServiceTestHarness;
  let service: ABTestService;
  beforeEach(async () => {
    harness = await openServiceHarness(driver);
    service = createABTestService({ storage: harness.storage, events: harness.events, audit: harness.audit });
  });
  afterEach(async () => {
    await harness.close();
  });

  it('records exposures and outcomes, waits for minSamplesPerVariant, declares and stores the winner', async () => {
    const test = await service.create(
      {
        name: 'tone v1 vs v2',
        variants: [
          { modelId: 'tone-v1', weight: 50 },
          { modelId: 'tone-v2', weight: 50 },
        ],
        successMetric: { kind: 'rating', name: 'user-rating' },
        minSamplesPerVariant: 40,
      },
      { actor: 'alice' },
    );
    expect(harness.auditEntries.at(-1)?.entry).toMatchObject({ action: 'abtest.create', outcome: 'success' });
    const concluded: Array<{ winner: string | null }> = [];
    harness.events.on('abtest:concluded', (event) => concluded.push(event));
    const recordUnits = async (from: number, to: number) => {
      for (let index = from; index < to; index += 1) {
        const unitId = `user-${index}`;
        const { variant } = await service.assign(test.id, unitId);
        await service.record(test.id, unitId, { exposure: true });
        // tone-v2 users rate 4–5, tone-v1 users 2–4.
        const rating = variant === 'tone-v2' ? 4 + (index % 2) : 2 + (index % 3);
        await service.record(test.id, unitId, { outcome: rating });
      }
    };
    await recordUnits(0, 30);
    const early = await service.results(test.id);
    expect(early.reason).toBe('insufficient-samples');
    expect(early.winner).toBeNull();
    await recordUnits(30, 120);
    const results = await service.results(test.id);
    expect(results.variants.reduce((sum, variant) => sum + variant.exposures, 0)).toBe(120);
    expect(results.sampleRatio.checked).toBe(true);
    expect(results.variants.every((variant) => variant.n >= 40)).toBe(true);
    expect(results.variants[1]?.pValue).toBeLessThan(1e-6);
    expect(results.winner).toBe('tone-v2');
    const stored = await service.stop(test.id, {}, { actor: 'alice' });
    expect(stored).toMatchObject({ status: 'completed', winner: 'tone-v2' });
    expect(concluded).toEqual([{ testId: test.id, winner: 'tone-v2', reason: 'significant' }]);
    expect((await service.get(test.id))?.winner).toBe('tone-v2');
    // Everyone now gets the winner; nothing more can be recorded.
    expect(await service.assign(test.id, 'someone-new')).toMatchObject({
      variant: 'tone-v2',
      inExperiment: false,
    });
    await expect(service.record(test.id, 'user-1', { outcome: 5 })).rejects.toMatchObject({
      code: 'ABTEST_NOT_ACTIVE',
    });
    await expect(service.stop(test.id)).rejects.toMatchObject({ code: 'ABTEST_NOT_ACTIVE' });
    expect(harness.auditEntries.map((item) => item.entry.action)).toEqual(['abtest.create', 'abtest.stop']);
  });

  it('keeps a unit in its first variant and aggregates its outcomes', async () => {
    const test = await service.create({
      name: 'sticky',
      variants: [
        { modelId: 'm1', weight: 1 },
        { modelId: 'm2', weight: 1 },
      ],
      successMetric: { kind: 'binary', name: 'accepted' },
    });
    const first = await service.record(test.id, 'u1', { exposure: true });
    await service.update(test.id, { weights: first.variant === 'm1' ? { m1: 0, m2: 1 } : { m1: 1, m2: 0 } });
    const later = await service.record(test.id, 'u1', { outcome: true });
    expect(later.variant).toBe(first.variant);
    expect(later).toMatchObject({ exposures: 1, outcomeCount: 1, outcomeMax: 1 });
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () => service.record(test.id, 'u2', { exposure: true })),
    );
    expect(Math.max(...concurrent.map((record) => record.exposures))).toBe(10);
  });

  it('pauses (control for everyone, no new units) and resumes', async () => {
    const test = await service.create({
      name: 'pausable',
      variants: [
        { modelId: 'control-model', weight: 10 },
        { modelId: 'new-model', weight: 90 },
      ],
      successMetric: { kind: 'numeric', name: 'latency', direction: 'decrease' },
    });
    await service.record(test.id, 'old-unit', { exposure: true });
    await service.pause(test.id);
    for (let index = 0; index < 50; index += 1) {
      expect(await service.assign(test.id, `u${index}`)).toMatchObject({
        variant: 'control-model',
        inExperiment: false,
      });
    }
    await expect(service.record(test.id, 'brand-new', { exposure: true })).rejects.toMatchObject({
      code: 'ABTEST_NOT_ACTIVE',
    });
    await service.record(test.id, 'old-unit', { outcome: 120 });
    await service.resume(test.id);
    const shares = { 'new-model': 0, 'control-model': 0 } as Record<string, number>;
    for (let index = 0; index < 2000; index += 1) {
      const assignment = await service.assign(test.id, `u${index}`);
      shares[assignment.variant] = (shares[assignment.variant] as number) + 1;
    }
    expect((shares['new-model'] as number) / 2000).toBeGreaterThan(0.85);
  });

  it('validates input with coded errors', async () => {
    await expect(
      service.create({
        name: 'x',
        variants: [{ modelId: 'a', weight: 1 }],
        successMetric: { kind: 'binary', name: 'c' },
      }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('at least two variants'),
    });
    await expect(
      service.create({
        name: 'x',
        variants: [
          { modelId: 'a', weight: 1 },
          { modelId: 'a', weight: 1 },
        ],
        successMetric: { kind: 'binary', name: 'c' },
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('unique') });
    const test = await service.create({
      name: 'ratings',
      variants: [
        { modelId: 'a', weight: 1 },
        { modelId: 'b', weight: 1 },
      ],
      successMetric: { kind: 'rating', name: 'stars' },
    });
    await expect(service.record(test.id, 'u', { outcome: 6 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(service.record(test.id, 'u', { outcome: 2.5 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(service.update(test.id, { weights: { z: 1 } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(service.assign('abt_missing', 'u')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await service.list({ status: 'active' })).items.map((item) => item.id)).toEqual([test.id]);
  });
});
