import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditSink } from '../audit/audit-sink.js';
import { createAuditRecorder } from '../audit/create-audit-recorder.js';
import { tunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { OperationContext } from '../kit/operation-context.js';
import { type ABTest, ABTestSchema, type ABTestUnit, SuccessMetricSchema } from '../schemas/ab-test.js';
import type { Storage } from '../storage/collection.js';
import { createABTestAggregateStore } from './ab-test-aggregate-store.js';
import { computeABTestResultsFromStatistics } from './ab-test-results.js';
import type { ABAssignment, ABTestService, CreateABTestInput } from './ab-test-service.js';
import { allocateBuckets, bucketTable, reallocateBuckets } from './bucket-allocation.js';
import { fnv1a32, hashBucketV2 } from './fnv1a.js';

/** What {@link createABTestService} needs. */
export interface ABTestServiceOptions {
  storage: Storage;
  events: EventBus;
  audit?: AuditSink;
  /**
   * How long a cached test configuration is trusted before it is re-read in the background (other
   * processes may change it; default 5000 ms). Changes made through this service apply at once.
   */
  cacheTtlMs?: number;
  /** Also audit every `record` call (default false: exposures and outcomes are high-volume). */
  auditRecords?: boolean;
  /**
   * How long a writer's claim on a unit holds before another process may finish it (default
   * 30,000 ms); see `createABTestAggregateStore`.
   */
  claimTimeoutMs?: number;
  /** How long a `recompute` holds a test's statistics before another process may take over (default 120,000 ms). */
  rebuildTimeoutMs?: number;
}

/** Largest magnitude of a unit's outcome total: its square must stay finite in the statistics. */
const MAX_UNIT_TOTAL = 1e150;

const CreateInputSchema = z.object({
  name: z.string().min(1).max(256),
  description: z.string().max(4096).optional(),
  variants: z
    .array(
      z.object({
        modelId: z.string().min(1),
        weight: z.number().min(0).finite(),
        name: z.string().min(1).max(128).optional(),
      }),
    )
    .min(2, 'an A/B test needs at least two variants')
    .max(100, 'at most 100 variants'),
  successMetric: SuccessMetricSchema,
  minSamplesPerVariant: z.number().int().min(1).default(100),
  alpha: z.number().gt(0).lt(1).default(0.05),
  seed: z.string().min(1).optional(),
});

const UpdateInputSchema = z.object({
  name: z.string().min(1).max(256).optional(),
  description: z.string().max(4096).optional(),
  weights: z.record(z.string(), z.number().min(0).finite()).optional(),
  minSamplesPerVariant: z.number().int().min(1).optional(),
  alpha: z.number().gt(0).lt(1).optional(),
});

interface CachedTest {
  test: ABTest;
  table: Uint8Array;
  seedState: number;
  loadedAt: number;
  /** Variant index everyone gets when the test is not active. */
  fallback: number;
}

/**
 * Creates `kit.abTests`. Tests live in the `ab-tests` collection, per-unit aggregates in
 * `ab-test-units` (one record per test and unit), and per-variant sufficient statistics in
 * `ab-test-statistics` (16 shards per test, updated with each outcome), so `results` reads 16
 * records whatever the number of units.
 *
 * @example
 * ```ts
 * const test = await kit.abTests.create({
 *   name: 'tone-v2 vs v1',
 *   variants: [{ modelId: 'tone-v1', weight: 50 }, { modelId: 'tone-v2', weight: 50 }],
 *   successMetric: { kind: 'binary', name: 'accepted' },
 * });
 * const { modelId } = await kit.abTests.assign(test.id, userId);
 * await kit.abTests.record(test.id, userId, { outcome: true });
 * ```
 */
export function createABTestService(options: ABTestServiceOptions): ABTestService {
  const { storage, events } = options;
  const audit = createAuditRecorder({ sink: options.audit, source: 'ab-tests', events });
  const ttl = options.cacheTtlMs ?? 5000;
  const tests = storage.collection('ab-tests', ABTestSchema);
  const aggregates = createABTestAggregateStore({
    storage,
    claimTimeoutMs: options.claimTimeoutMs,
    rebuildTimeoutMs: options.rebuildTimeoutMs,
  });
  const cache = new Map<string, CachedTest>();
  const refreshing = new Set<string>();
  const unitLocks = new Map<string, Promise<unknown>>();

  const cacheTest = (test: ABTest): CachedTest => {
    const winnerIndex =
      test.winner == null ? -1 : test.variants.findIndex((variant) => variant.name === test.winner);
    const entry: CachedTest = {
      test,
      table: bucketTable(test.allocation),
      seedState: fnv1a32(test.seed),
      loadedAt: Date.now(),
      fallback: test.status === 'completed' && winnerIndex >= 0 ? winnerIndex : 0,
    };
    cache.set(test.id, entry);
    return entry;
  };

  const load = async (testId: string): Promise<CachedTest> => {
    const test = await tests.get(testId);
    if (test === undefined) throw tunekitError('NOT_FOUND', `No A/B test "${testId}"`, { testId });
    return cacheTest(test);
  };

  const refreshInBackground = (testId: string) => {
    if (refreshing.has(testId)) return;
    refreshing.add(testId);
    load(testId)
      .catch(() => cache.delete(testId))
      .finally(() => refreshing.delete(testId));
  };

  const assignWith = (entry: CachedTest, unitId: string): ABAssignment => {
    const bucket = hashBucketV2(entry.seedState, unitId);
    const active = entry.test.status === 'active';
    const variant = entry.test.variants[
      active ? (entry.table[bucket] as number) : entry.fallback
    ] as ABTest['variants'][number];
    return {
      testId: entry.test.id,
      variant: variant.name,
      modelId: variant.modelId,
      inExperiment: active,
      bucket,
    };
  };

  const auditSuccess = (
    action: string,
    testId: string,
    context: OperationContext | undefined,
    details?: Record<string, unknown>,
  ) =>
    audit.record(
      { action, resourceType: 'ab-test', resourceId: testId, outcome: 'success', details },
      context,
    );

  const mutate = async (
    testId: string,
    action: string,
    context: OperationContext | undefined,
    change: (test: ABTest) => ABTest,
  ): Promise<ABTest> =>
    audit.run({ action, resourceType: 'ab-test', resourceId: testId }, context, async () => {
      const updated = await tests.update(testId, (current) => ({
        ...change(current),
        updatedAt: new Date().toISOString(),
      }));
      cacheTest(updated);
      return updated;
    });

  const withUnitLock = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = unitLocks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    unitLocks.set(key, settled);
    try {
      return await next;
    } finally {
      if (unitLocks.get(key) === settled) unitLocks.delete(key);
    }
  };

  const service: ABTestService = {
    async create(input: CreateABTestInput, context?: OperationContext) {
      const parsed = parseOrThrow(CreateInputSchema, input, 'A/B test');
      const variants = parsed.variants.map((variant) => ({
        name: variant.name ?? variant.modelId,
        modelId: variant.modelId,
        weight: variant.weight,
      }));
      const names = new Set(variants.map((variant) => variant.name));
      if (names.size !== variants.length) {
        throw tunekitError(
          'VALIDATION_FAILED',
          'Invalid A/B test: variants: names must be unique (give `name` when a model appears twice)',
          {
            issues: [{ path: 'variants', message: 'names must be unique' }],
          },
        );
      }
      const id = `abt_${randomBytes(8).toString('hex')}`;
      const now = new Date().toISOString();
      const record: ABTest = {
        id,
        name: parsed.name,
        description: parsed.description,
        status: 'active',
        variants,
        successMetric: parsed.successMetric,
        minSamplesPerVariant: parsed.minSamplesPerVariant,
        alpha: parsed.alpha,
        seed: parsed.seed ?? id,
        allocation: allocateBuckets(variants.map((variant) => variant.weight)),
        owner: context?.actor,
        createdAt: now,
        updatedAt: now,
        version: 0,
      };
      // The statistics exist before the test can be recorded to.
      await aggregates.initialize(record);
      const test = await tests.set(record);
      cacheTest(test);
      events.emit('abtest:created', {
        testId: id,
        name: test.name,
        variants: variants.map((variant) => variant.name),
      });
      await auditSuccess('abtest.create', id, context, {
        variants: variants.map((variant) => variant.name),
      });
      return test;
    },

    get: (testId) => tests.get(testId),

    list: (query = {}) =>
      tests.list({
        filter: query.status === undefined ? undefined : { status: query.status },
        sort: { field: 'createdAt', direction: 'desc' },
        limit: query.limit,
        cursor: query.cursor,
      }),

    async update(testId, input, context) {
      const parsed = parseOrThrow(UpdateInputSchema, input, 'A/B test update');
      let movedBuckets = 0;
      const updated = await mutate(testId, 'abtest.update', context, (current) => {
        if (current.status === 'completed')
          throw tunekitError('ABTEST_NOT_ACTIVE', `A/B test "${testId}" is completed`, { testId });
        const next: ABTest = { ...current };
        if (parsed.name !== undefined) next.name = parsed.name;
        if (parsed.description !== undefined) next.description = parsed.description;
        if (parsed.minSamplesPerVariant !== undefined)
          next.minSamplesPerVariant = parsed.minSamplesPerVariant;
        if (parsed.alpha !== undefined) next.alpha = parsed.alpha;
        if (parsed.weights !== undefined) {
          const unknown = Object.keys(parsed.weights).filter(
            (name) => !current.variants.some((variant) => variant.name === name),
          );
          if (unknown.length > 0) {
            throw tunekitError(
              'VALIDATION_FAILED',
              `Invalid A/B test update: weights: unknown variants ${unknown.join(', ')}`,
              {
                issues: [{ path: 'weights', message: `unknown variants: ${unknown.join(', ')}` }],
              },
            );
          }
          next.variants = current.variants.map((variant) => ({
            ...variant,
            weight: parsed.weights?.[variant.name] ?? variant.weight,
          }));
          const reallocated = reallocateBuckets(
            current.allocation,
            next.variants.map((variant) => variant.weight),
          );
          next.allocation = reallocated.allocation;
          movedBuckets = reallocated.movedBuckets;
        }
        return next;
      });
      events.emit('abtest:updated', { testId, movedBuckets });
      return updated;
    },

    async assign(testId, unitId) {
      let entry = cache.get(testId);
      if (entry === undefined) entry = await load(testId);
      else if (Date.now() - entry.loadedAt > ttl) refreshInBackground(testId);
      return assignWith(entry, unitId);
    },

    async assigner(testId) {
      if (!cache.has(testId)) await load(testId);
      let calls = 0;
      return (unitId: string) => {
        const entry = cache.get(testId);
        if (entry === undefined) throw tunekitError('NOT_FOUND', `No A/B test "${testId}"`, { testId });
        // Reading the clock costs as much as hashing: check the cache age every 1024 calls.
        calls = (calls + 1) & 1023;
        if (calls === 0 && Date.now() - entry.loadedAt > ttl) refreshInBackground(testId);
        return assignWith(entry, unitId);
      };
    },

    async record(testId, unitId, observation, context) {
      if (typeof unitId !== 'string' || unitId.length === 0) {
        throw tunekitError(
          'VALIDATION_FAILED',
          'Invalid A/B observation: unitId: must be a non-empty string',
          {
            issues: [{ path: 'unitId', message: 'must be a non-empty string' }],
          },
        );
      }
      const entry = cache.get(testId) ?? (await load(testId));
      const { test } = entry;
      let value: number | undefined;
      if ('outcome' in observation) {
        const raw = observation.outcome;
        value = typeof raw === 'boolean' ? (raw ? 1 : 0) : raw;
        const kind = test.successMetric.kind;
        const valid =
          typeof value === 'number' &&
          Number.isFinite(value) &&
          (kind === 'numeric' ||
            (kind === 'binary' && (value === 0 || value === 1)) ||
            (kind === 'rating' && Number.isInteger(value) && value >= 1 && value <= 5));
        if (!valid) {
          const expected =
            kind === 'binary'
              ? 'true/false or 0/1'
              : kind === 'rating'
                ? 'an integer rating 1..5'
                : 'a finite number';
          throw tunekitError(
            'VALIDATION_FAILED',
            `Invalid A/B observation: outcome: expected ${expected} for a ${kind} metric`,
            {
              issues: [{ path: 'outcome', message: `expected ${expected}` }],
            },
          );
        }
      } else if (!('exposure' in observation) || observation.exposure !== true) {
        throw tunekitError(
          'VALIDATION_FAILED',
          'Invalid A/B observation: give { exposure: true } or { outcome }',
          {
            issues: [{ path: '(root)', message: 'expected { exposure: true } or { outcome }' }],
          },
        );
      }
      const key = `${testId}:${unitId}`;
      const stored = await withUnitLock(key, async () => {
        const latest = (await tests.get(testId)) ?? test;
        const assigned = entry.test.version === latest.version ? entry : cacheTest(latest);
        return aggregates.changeUnit(latest, unitId, (current) => {
          if (latest.status === 'completed' || (latest.status === 'paused' && current === undefined)) {
            throw tunekitError('ABTEST_NOT_ACTIVE', `A/B test "${testId}" is ${latest.status}`, {
              testId,
              status: latest.status,
            });
          }
          const now = new Date().toISOString();
          const base: ABTestUnit = current ?? {
            id: key,
            testId,
            unitId,
            variant: assignWith(assigned, unitId).variant,
            exposures: 0,
            outcomeCount: 0,
            outcomeSum: 0,
            outcomeMax: null,
            firstSeenAt: now,
            lastSeenAt: now,
            version: 0,
          };
          const next: ABTestUnit = { ...base, lastSeenAt: now };
          if (value === undefined) next.exposures += 1;
          else {
            next.outcomeCount += 1;
            next.outcomeSum += value;
            next.outcomeMax = next.outcomeMax === null ? value : Math.max(next.outcomeMax, value);
            if (!(Math.abs(next.outcomeSum) <= MAX_UNIT_TOTAL)) {
              throw tunekitError(
                'VALIDATION_FAILED',
                `Invalid A/B observation: outcome: the unit's total would exceed ${MAX_UNIT_TOTAL} in magnitude`,
                { issues: [{ path: 'outcome', message: `unit total beyond ±${MAX_UNIT_TOTAL}` }] },
              );
            }
          }
          return next;
        });
      });
      if (options.auditRecords) {
        await auditSuccess('abtest.record', testId, context, {
          unitId,
          kind: value === undefined ? 'exposure' : 'outcome',
        });
      }
      return stored;
    },

    async results(testId, resultsOptions = {}) {
      const test = await tests.get(testId);
      if (test === undefined) throw tunekitError('NOT_FOUND', `No A/B test "${testId}"`, { testId });
      return computeABTestResultsFromStatistics(test, await aggregates.read(test), resultsOptions);
    },

    async recompute(testId, context) {
      const test = await tests.get(testId);
      if (test === undefined) throw tunekitError('NOT_FOUND', `No A/B test "${testId}"`, { testId });
      return audit.run(
        {
          action: 'abtest.recompute',
          resourceType: 'ab-test',
          resourceId: testId,
          details: (report) => ({ units: report.units, changed: report.changed }),
        },
        context,
        () => aggregates.rebuild(test),
      );
    },

    async pause(testId, context) {
      const updated = await mutate(testId, 'abtest.pause', context, (current) => {
        if (current.status === 'completed')
          throw tunekitError('ABTEST_NOT_ACTIVE', `A/B test "${testId}" is completed`, { testId });
        return { ...current, status: 'paused' };
      });
      events.emit('abtest:paused', { testId });
      return updated;
    },

    async resume(testId, context) {
      const updated = await mutate(testId, 'abtest.resume', context, (current) => {
        if (current.status === 'completed')
          throw tunekitError('ABTEST_NOT_ACTIVE', `A/B test "${testId}" is completed`, { testId });
        return { ...current, status: 'active' };
      });
      events.emit('abtest:resumed', { testId });
      return updated;
    },

    async stop(testId, stopOptions = {}, context) {
      const test = await tests.get(testId);
      if (test === undefined) throw tunekitError('NOT_FOUND', `No A/B test "${testId}"`, { testId });
      if (test.status === 'completed')
        throw tunekitError('ABTEST_NOT_ACTIVE', `A/B test "${testId}" is already completed`, { testId });
      if (
        stopOptions.winner !== undefined &&
        !test.variants.some((variant) => variant.name === stopOptions.winner)
      ) {
        throw tunekitError(
          'VALIDATION_FAILED',
          `Invalid stop: winner: no variant named "${stopOptions.winner}"`,
          {
            issues: [{ path: 'winner', message: 'unknown variant' }],
          },
        );
      }
      const results = computeABTestResultsFromStatistics(test, await aggregates.read(test));
      const winner = stopOptions.winner ?? results.winner;
      const reason = stopOptions.reason ?? (stopOptions.winner !== undefined ? 'declared' : results.reason);
      const now = new Date().toISOString();
      const updated = await mutate(testId, 'abtest.stop', context, (current) => ({
        ...current,
        status: 'completed',
        winner,
        results: { ...results, reason },
        completedAt: now,
      }));
      events.emit('abtest:concluded', { testId, winner, reason });
      return updated;
    },
  };
  return service;
}
