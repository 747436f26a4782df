import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ABTestService } from '../ab-tests/ab-test-service.js';
import { createABTestService } from '../ab-tests/create-ab-test-service.js';
import { createEventBus } from '../events/create-event-bus.js';
import { createSeededRandom } from '../statistics/seeded-random.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import { createFeedbackService } from './create-feedback-service.js';
import { FeedbackRollupSchema, FeedbackRollupStateSchema } from './feedback-rollup.js';
import type { FeedbackService, FeedbackStatsQuery } from './feedback-service.js';

const DAYS = ['2025-03-01', '2025-03-02', '2025-03-03', '2025-03-04'];
const MODELS = ['tone-v1', 'tone-v2', 'tone-v3'];

async function recordRandom(
  service: FeedbackService,
  abTestIds: string[],
  random: () => number,
  count: number,
  onRecord?: (index: number) => void,
) {
  for (let index = 0; index < count; index += 1) {
    const day = DAYS[Math.floor(random() * DAYS.length)] as string;
    vi.setSystemTime(new Date(`${day}T${String(Math.floor(random() * 24)).padStart(2, '0')}:17:00Z`));
    onRecord?.(index);
    const output = `output ${Math.floor(random() * 3)}`;
    const choice = random();
    await service.record({
      modelId: MODELS[Math.floor(random() * MODELS.length)] as string,
      userId: `user-${Math.floor(random() * 30)}`,
      input: 'make this polite',
      output,
      rating: choice < 0.7 ? 1 + Math.floor(random() * 5) : undefined,
      correctedText: choice > 0.5 ? (random() < 0.3 ? output : 'Could you please?') : undefined,
      type: random() < 0.1 ? 'thumbs' : undefined,
      tags: random() < 0.5 ? ['email'] : [],
      abTestId: random() < 0.4 ? abTestIds[Math.floor(random() * abTestIds.length)] : undefined,
    });
  }
}

const QUERIES: FeedbackStatsQuery[] = [
  {},
  { groupBy: 'day' },
  { groupBy: 'model' },
  { groupBy: 'variant' },
  { modelId: 'tone-v2', groupBy: 'day' },
  { type: 'rating', groupBy: 'model' },
  { type: 'correction' },
  { from: '2025-03-02', groupBy: 'variant' },
  { from: '2025-03-02T00:00:00Z', to: '2025-03-04T00:00:00.000Z', groupBy: 'day' },
  { to: '2025-03-03', modelId: 'tone-v1' },
  { from: '2026-01-01' },
];

/** Every rollup-answerable query gives exactly what a scan of the records gives. */
async function expectRollupsMatchRecords(service: FeedbackService, abTestIds: string[]) {
  const queries = [
    ...QUERIES,
    ...abTestIds.flatMap((abTestId) => [{ abTestId, groupBy: 'variant' as const }, { abTestId }]),
  ];
  for (const query of queries) {
    expect(await service.stats(query), JSON.stringify(query)).toEqual(
      await service.stats(query, { source: 'records' }),
    );
  }
}

async function createTests(abTests: ABTestService) {
  const variants = [
    { modelId: 'tone-v1', weight: 1 },
    { modelId: 'tone-v2', weight: 1 },
  ];
  const rating = await abTests.create({
    name: 'r',
    variants,
    successMetric: { kind: 'rating', name: 'stars' },
  });
  const binary = await abTests.create({ name: 'b', variants, successMetric: { kind: 'binary', name: 'ok' } });
  return [rating.id, binary.id];
}

describe.each(['memory', 'sqlite'] as const)('feedback rollups on %s storage', (driver) => {
  let storage: Storage;
  let directory: string | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await storage.close();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  it('answer stats exactly as a scan of the records, rebuild when missing, fall back for user and tag filters', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    if (driver === 'sqlite') {
      directory = await mkdtemp(join(tmpdir(), 'tunekit-feedback-'));
      storage = await createStorage({ driver: 'sqlite', path: join(directory, 'tunekit.sqlite') });
    } else storage = await createStorage({ driver: 'memory' });
    const events = createEventBus();
    const abTests = createABTestService({ storage, events });
    const service = createFeedbackService({ storage, events, abTests });
    const abTestIds = await createTests(abTests);
    await recordRandom(service, abTestIds, createSeededRandom(7), 150);
    await expectRollupsMatchRecords(service, abTestIds);
    // A restarted process writes its own cells; stats add every writer's.
    const restarted = createFeedbackService({ storage, events, abTests });
    await recordRandom(restarted, abTestIds, createSeededRandom(8), 60);
    await expectRollupsMatchRecords(service, abTestIds);
    const rollups = storage.collection('feedback-rollups', FeedbackRollupSchema);
    expect(new Set((await rollups.list({ limit: 1000 })).items.map((cell) => cell.writer)).size).toBe(2);
    // User, tag and mid-day filters scan the records (and agree with them by construction).
    expect((await service.stats({ userId: 'user-3' })).count).toBeGreaterThan(0);
    expect((await service.stats({ tags: ['email'], groupBy: 'day' })).count).toBeGreaterThan(0);
    expect(await service.stats({ from: '2025-03-02T12:00:00Z' })).toEqual(
      await service.stats({ from: '2025-03-02T12:00:00Z' }, { source: 'records' }),
    );
    // Data written before rollups existed: no cells, no state → rebuilt by the first stats call.
    for (const cell of (await rollups.list({ limit: 1000 })).items) await rollups.delete(cell.id);
    await storage.collection('feedback-rollup-state', FeedbackRollupStateSchema).delete('state');
    const upgraded = createFeedbackService({ storage, events, abTests });
    await expectRollupsMatchRecords(upgraded, abTestIds);
    expect(await upgraded.recomputeStats()).toMatchObject({ records: 210 });
    await expectRollupsMatchRecords(restarted, abTestIds);
  });
});

describe('feedback rollups with two processes on one SQLite file', () => {
  it('stay exact while both record in parallel', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-feedback-two-'));
    const path = join(directory, 'tunekit.sqlite');
    const first = await createStorage({ driver: 'sqlite', path });
    const second = await createStorage({ driver: 'sqlite', path });
    try {
      const abTestsOne = createABTestService({ storage: first, events: createEventBus() });
      const abTestsTwo = createABTestService({ storage: second, events: createEventBus() });
      const one = createFeedbackService({ storage: first, events: createEventBus(), abTests: abTestsOne });
      const two = createFeedbackService({ storage: second, events: createEventBus(), abTests: abTestsTwo });
      const abTestIds = await createTests(abTestsOne);
      await one.stats(); // builds the (empty) rollups once
      await Promise.all([
        recordRandom(one, abTestIds, createSeededRandom(11), 120),
        recordRandom(two, abTestIds, createSeededRandom(12), 120),
      ]);
      expect((await two.stats()).count).toBe(240);
      await expectRollupsMatchRecords(one, abTestIds);
      await expectRollupsMatchRecords(two, abTestIds);
    } finally {
      vi.useRealTimers();
      await first.close();
      await second.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
