import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ABTestService } from '../ab-tests/ab-test-service.js';
import { createABTestService } from '../ab-tests/create-ab-test-service.js';
import {
  HARNESS_DRIVERS,
  openServiceHarness,
  type ServiceTestHarness,
} from '../evaluators/service-test-harness.js';
import { createFeedbackService } from './create-feedback-service.js';
import type { FeedbackService } from './feedback-service.js';

describe.each(HARNESS_DRIVERS)('feedback service on %s storage', (driver) => {
  let harness: ServiceTestHarness;
  let abTests: ABTestService;
  let service: FeedbackService;
  beforeEach(async () => {
    harness = await openServiceHarness(driver);
    abTests = createABTestService({ storage: harness.storage, events: harness.events });
    service = createFeedbackService({
      storage: harness.storage,
      events: harness.events,
      datasets: harness.datasets,
      abTests,
      audit: harness.audit,
      limits: { maxInputLength: 1000 },
    });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await harness.close();
  });

  const base = {
    modelId: 'tone-v1',
    userId: 'u1',
    input: 'make this polite: send it now',
    output: 'Send it now.',
  };

  it('validates ratings, sizes and fields with coded errors', async () => {
    for (const rating of [0, 6, 3.5, '4']) {
      await expect(service.record({ ...base, rating: rating as number })).rejects.toMatchObject({
        code: 'FEEDBACK_INVALID_RATING',
        status: 400,
        details: { field: 'rating' },
      });
    }
    await expect(service.record({ ...base, input: 'x'.repeat(1001) })).rejects.toMatchObject({
      code: 'FEEDBACK_TEXT_TOO_LONG',
      status: 413,
      details: { field: 'input', length: 1001, limit: 1000 },
    });
    await expect(service.record({ ...base, userId: '' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('userId'),
    });
    await expect(service.record({ ...base, abTestId: 'abt_missing' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await service.list()).items).toHaveLength(0);
    const recorded: string[] = [];
    harness.events.on('feedback:recorded', (event) => recorded.push(event.feedbackId));
    const stored = await service.record({ ...base, rating: 4, tags: ['tone'] }, { actor: 'u1' });
    expect(stored).toMatchObject({ type: 'rating', rating: 4, tags: ['tone'] });
    expect(recorded).toEqual([stored.id]);
    expect(harness.auditEntries.at(-1)).toMatchObject({
      entry: { action: 'feedback.record' },
      context: { actor: 'u1' },
    });
  });

  it('computes stats per day, per model and per variant', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-03-01T10:00:00Z'));
    await service.record({ ...base, rating: 5 });
    await service.record({ ...base, rating: 1, correctedText: 'Could you please send it now?' });
    vi.setSystemTime(new Date('2025-03-02T09:00:00Z'));
    await service.record({ ...base, modelId: 'tone-v2', rating: 4 });
    await service.record({ ...base, modelId: 'tone-v2', correctedText: 'Please send it now.' });
    await service.record({ ...base, modelId: 'tone-v2', rating: 4, correctedText: base.output }); // same text: no correction

    const all = await service.stats();
    expect(all).toMatchObject({
      count: 5,
      ratingCount: 4,
      averageRating: 3.5,
      distribution: { '1': 1, '2': 0, '3': 0, '4': 2, '5': 1 },
      correctionCount: 2,
      correctionRate: 0.4,
    });
    const byDay = await service.stats({ groupBy: 'day' });
    expect(byDay.groups?.map((group) => [group.key, group.count, group.averageRating])).toEqual([
      ['2025-03-01', 2, 3],
      ['2025-03-02', 3, 4],
    ]);
    const byModel = await service.stats({
      groupBy: 'model',
      from: '2025-03-01T00:00:00Z',
      to: '2025-03-03T00:00:00Z',
    });
    expect(byModel.groups?.map((group) => [group.key, group.correctionRate])).toEqual([
      ['tone-v1', 0.5],
      ['tone-v2', 1 / 3],
    ]);
    expect((await service.stats({ modelId: 'tone-v1', to: '2025-03-01T10:00:00Z' })).count).toBe(0);
    await expect(service.stats({ from: 'yesterday' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('counts ratings as outcomes of an A/B test with a rating metric and groups stats by variant', async () => {
    const test = await abTests.create({
      name: 'politeness',
      variants: [
        { modelId: 'tone-v1', weight: 1 },
        { modelId: 'tone-v2', weight: 1 },
      ],
      successMetric: { kind: 'rating', name: 'stars' },
      minSamplesPerVariant: 5,
    });
    for (let index = 0; index < 40; index += 1) {
      const userId = `user-${index}`;
      const { modelId } = await abTests.assign(test.id, userId);
      await service.record({
        ...base,
        userId,
        modelId,
        rating: modelId === 'tone-v2' ? 5 : 2 + (index % 2),
        abTestId: test.id,
      });
    }
    const results = await abTests.results(test.id);
    expect(results.variants.reduce((sum, variant) => sum + variant.n, 0)).toBe(40);
    expect(results.variants.find((variant) => variant.name === 'tone-v2')?.mean).toBe(5);
    expect(results.winner).toBe('tone-v2');
    const byVariant = await service.stats({ abTestId: test.id, groupBy: 'variant' });
    expect(byVariant.groups?.map((group) => group.key)).toEqual(['tone-v1', 'tone-v2']);
    expect(byVariant.groups?.find((group) => group.key === 'tone-v2')?.averageRating).toBe(5);
  });

  it('exports corrections as SFT and corrections plus low-rated outputs as preference pairs', async () => {
    await service.record({ ...base, rating: 1, correctedText: 'Could you please send it now?' });
    await service.record({ ...base, input: 'soften: you are wrong', output: 'You are wrong.', rating: 2 });
    await service.record({
      ...base,
      userId: 'u2',
      input: 'soften: you are wrong',
      output: 'I see it differently.',
      rating: 5,
    });
    await service.record({ ...base, input: 'soften: stop', output: 'Stop.', rating: 1 }); // no better output: skipped
    await service.record({ ...base, modelId: 'other', correctedText: 'Other model correction.' });

    const exported: string[] = [];
    harness.events.on('feedback:exported', (event) => exported.push(event.as));
    const sft = await service.export({ as: 'sft', filter: { modelId: 'tone-v1' } });
    expect(sft).toMatchObject({ rows: 1, skipped: 3 });
    expect(sft.version).toMatchObject({
      kind: 'feedback',
      rowFormat: 'prompt-completion',
      rowCount: 1,
      name: 'feedback-sft',
    });
    const sftRows = [];
    for await (const row of harness.datasets.rows(sft.version.id)) sftRows.push(row);
    expect(sftRows).toEqual([
      expect.objectContaining({
        prompt: 'make this polite: send it now',
        completion: 'Could you please send it now?',
      }),
    ]);

    const preference = await service.export(
      { as: 'preference', filter: { modelId: 'tone-v1' }, name: 'tone-dpo' },
      { actor: 'ops' },
    );
    expect(preference).toMatchObject({ rows: 2, skipped: 2 });
    expect(preference.version).toMatchObject({ rowFormat: 'preference', name: 'tone-dpo' });
    const pairs = [];
    for await (const row of harness.datasets.rows(preference.version.id)) pairs.push(row);
    expect(pairs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          prompt: base.input,
          chosen: 'Could you please send it now?',
          rejected: 'Send it now.',
        }),
        expect.objectContaining({
          prompt: 'soften: you are wrong',
          chosen: 'I see it differently.',
          rejected: 'You are wrong.',
        }),
      ]),
    );
    expect(exported).toEqual(['sft', 'preference']);
    expect(harness.auditEntries.at(-1)).toMatchObject({
      entry: { action: 'feedback.export' },
      context: { actor: 'ops' },
    });
    await expect(service.export({ as: 'sft', filter: { modelId: 'nobody' } })).rejects.toMatchObject({
      code: 'DATASET_EMPTY',
    });
  });
});
