import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ABTestService } from '../ab-tests/ab-test-service.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { createAuditRecorder } from '../audit/create-audit-recorder.js';
import type { DatasetService } from '../datasets/dataset-service.js';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { OperationContext } from '../kit/operation-context.js';
import { type Feedback, FeedbackSchema } from '../schemas/feedback.js';
import type { Storage } from '../storage/collection.js';
import {
  addToFeedbackRollup,
  emptyFeedbackRollup,
  type FeedbackRollup,
  FeedbackRollupSchema,
  FeedbackRollupStateSchema,
} from './feedback-rollup.js';
import type {
  ExportFeedbackOptions,
  FeedbackFilter,
  FeedbackService,
  FeedbackStats,
  FeedbackStatsQuery,
  FeedbackSummary,
  RecordFeedbackInput,
} from './feedback-service.js';

/** Size limits of feedback texts, in characters (UTF-16 code units). */
export interface FeedbackLimits {
  /** Default 100,000. */
  maxInputLength?: number;
  /** Default 100,000. */
  maxOutputLength?: number;
  /** Default 100,000. */
  maxCorrectedTextLength?: number;
  /** Serialized metadata, default 16,384. */
  maxMetadataLength?: number;
}

/** What {@link createFeedbackService} needs. */
export interface FeedbackServiceOptions {
  storage: Storage;
  events: EventBus;
  /** Needed by `export`. */
  datasets?: Pick<DatasetService, 'register'>;
  /** Needed for feedback linked to A/B tests. */
  abTests?: Pick<ABTestService, 'get' | 'assign' | 'record'>;
  audit?: AuditSink;
  limits?: FeedbackLimits;
}

const RecordInputSchema = z.object({
  modelId: z.string().min(1).max(256),
  userId: z.string().min(1).max(256),
  sessionId: z.string().min(1).max(256).optional(),
  input: z.string(),
  output: z.string(),
  correctedText: z.string().optional(),
  rating: z.number().int().min(1).max(5).optional(),
  type: z.string().min(1).max(64).optional(),
  transformationType: z.string().max(128).optional(),
  tags: z.array(z.string().min(1).max(64)).max(32).default([]),
  abTestId: z.string().min(1).optional(),
  unitId: z.string().min(1).max(256).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const isCorrection = (feedback: Feedback) =>
  feedback.correctedText !== undefined &&
  feedback.correctedText.trim().length > 0 &&
  feedback.correctedText !== feedback.output;

function matches(feedback: Feedback, filter: FeedbackFilter): boolean {
  return (
    (filter.modelId === undefined || feedback.modelId === filter.modelId) &&
    (filter.userId === undefined || feedback.userId === filter.userId) &&
    (filter.abTestId === undefined || feedback.abTestId === filter.abTestId) &&
    (filter.type === undefined || feedback.type === filter.type) &&
    (filter.tags === undefined || filter.tags.every((tag) => feedback.tags.includes(tag))) &&
    (filter.from === undefined || feedback.createdAt >= new Date(filter.from).toISOString()) &&
    (filter.to === undefined || feedback.createdAt < new Date(filter.to).toISOString())
  );
}

const DAY_MS = 86_400_000;

/** Whether `stats` can answer `query` from the rollups: no user or tag filter, whole UTC days. */
function answerableFromRollups(query: FeedbackFilter): boolean {
  const wholeDay = (value: string | undefined) => value === undefined || Date.parse(value) % DAY_MS === 0;
  return (
    query.userId === undefined &&
    (query.tags === undefined || query.tags.length === 0) &&
    wholeDay(query.from) &&
    wholeDay(query.to)
  );
}

/** The summary of a set of rollup cells (equal to {@link summarize} of the feedback they count). */
function summarizeRollups(cells: readonly FeedbackRollup[]): FeedbackSummary {
  const distribution = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  let count = 0;
  let ratingCount = 0;
  let ratingSum = 0;
  let correctionCount = 0;
  for (const cell of cells) {
    count += cell.count;
    ratingCount += cell.ratingCount;
    ratingSum += cell.ratingSum;
    correctionCount += cell.correctionCount;
    cell.distribution.forEach((value, index) => {
      distribution[String(index + 1) as keyof typeof distribution] += value;
    });
  }
  return {
    count,
    ratingCount,
    averageRating: ratingCount === 0 ? null : ratingSum / ratingCount,
    distribution,
    correctionCount,
    correctionRate: count === 0 ? 0 : correctionCount / count,
  };
}

function summarize(items: readonly Feedback[]): FeedbackSummary {
  const distribution = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  let ratingSum = 0;
  let ratingCount = 0;
  let correctionCount = 0;
  for (const feedback of items) {
    if (feedback.rating !== undefined) {
      distribution[String(feedback.rating) as keyof typeof distribution] += 1;
      ratingSum += feedback.rating;
      ratingCount += 1;
    }
    if (isCorrection(feedback)) correctionCount += 1;
  }
  return {
    count: items.length,
    ratingCount,
    averageRating: ratingCount === 0 ? null : ratingSum / ratingCount,
    distribution,
    correctionCount,
    correctionRate: items.length === 0 ? 0 : correctionCount / items.length,
  };
}

/**
 * Creates `kit.feedback` over the `feedback` collection.
 *
 * @example
 * ```ts
 * await kit.feedback.record({ modelId: 'tone-v2', userId: 'u1', input, output, rating: 2, correctedText });
 * const stats = await kit.feedback.stats({ modelId: 'tone-v2', groupBy: 'day' });
 * const { version } = await kit.feedback.export({ as: 'preference', filter: { modelId: 'tone-v2' } });
 * ```
 */
export function createFeedbackService(options: FeedbackServiceOptions): FeedbackService {
  const { storage, events, datasets, abTests } = options;
  const audit = createAuditRecorder({ sink: options.audit, source: 'feedback', events });
  const limits = {
    input: options.limits?.maxInputLength ?? 100_000,
    output: options.limits?.maxOutputLength ?? 100_000,
    correctedText: options.limits?.maxCorrectedTextLength ?? 100_000,
    metadata: options.limits?.maxMetadataLength ?? 16_384,
  };
  const feedback = storage.collection('feedback', FeedbackSchema);
  const rollups = storage.collection('feedback-rollups', FeedbackRollupSchema);
  const rollupState = storage.collection('feedback-rollup-state', FeedbackRollupStateSchema);
  /** This instance's writer id: it alone writes the rollup cells named after it. */
  const writer = randomBytes(8).toString('hex');
  const cellLocks = new Map<string, Promise<unknown>>();

  /** Counts one stored feedback in this writer's cell (serialized per cell in this process). */
  const addToRollups = async (stored: Feedback) => {
    const empty = emptyFeedbackRollup(writer, stored);
    const corrected = isCorrection(stored);
    const previous = cellLocks.get(empty.id) ?? Promise.resolve();
    const work = async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await rollups.update(empty.id, (cell) => addToFeedbackRollup(cell, stored, corrected));
          return;
        } catch (error) {
          const code = TunekitError.isInstance(error) ? error.code : undefined;
          // A rebuild deleted the cell under the update: try again (it is then new).
          if (code === 'CONFLICT' && attempt < 10) continue;
          // New cell (or deleted by a rebuild): only this instance writes it, so a plain write is safe.
          if (code !== 'NOT_FOUND') throw error;
          await rollups.set(addToFeedbackRollup(empty, stored, corrected));
          return;
        }
      }
    };
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    cellLocks.set(empty.id, settled);
    try {
      await next;
    } finally {
      if (cellLocks.get(empty.id) === settled) cellLocks.delete(empty.id);
    }
  };

  /** Every record of a collection in one pass (the predicate of `count` runs once per record). */
  const visit = async <T extends { id: string }>(
    collection: { count(filter: (record: T) => boolean): Promise<number> },
    each: (record: T) => void,
  ) => {
    await collection.count((record) => {
      each(record);
      return false;
    });
  };

  /**
   * Replaces every rollup cell by cells counted from the feedback records. Exact when no process
   * records feedback meanwhile; a feedback stored while it runs may be counted twice or not at all.
   */
  const rebuildRollups = async () => {
    const rebuilt = new Map<string, FeedbackRollup>();
    const rebuildWriter = `rebuilt-${randomBytes(8).toString('hex')}`;
    let records = 0;
    await visit<Feedback>(feedback, (item) => {
      records += 1;
      const empty = emptyFeedbackRollup(rebuildWriter, item);
      rebuilt.set(empty.id, addToFeedbackRollup(rebuilt.get(empty.id) ?? empty, item, isCorrection(item)));
    });
    const stale: string[] = [];
    await visit<FeedbackRollup>(rollups, (cell) => stale.push(cell.id));
    for (const id of stale) await rollups.delete(id);
    for (const cell of rebuilt.values()) await rollups.set(cell);
    await rollupState.set({ id: 'state', rebuiltAt: new Date().toISOString(), records, version: 0 });
    return { records, cells: rebuilt.size };
  };

  const checkDates = (filter: FeedbackFilter) => {
    for (const field of ['from', 'to'] as const) {
      const value = filter[field];
      if (value !== undefined && Number.isNaN(Date.parse(value))) {
        throw tunekitError(
          'VALIDATION_FAILED',
          `Invalid feedback filter: ${field}: expected an ISO date or time, got ${JSON.stringify(value)}`,
          { issues: [{ path: field, message: 'expected an ISO date or time' }] },
        );
      }
    }
  };

  /** Stats from the rollup cells: O(cells), whatever the number of feedback records. */
  const statsFromRollups = async (query: FeedbackStatsQuery): Promise<FeedbackStats> => {
    if ((await rollupState.get('state')) === undefined) await rebuildRollups();
    const fromDay = query.from === undefined ? undefined : new Date(query.from).toISOString().slice(0, 10);
    const toDay = query.to === undefined ? undefined : new Date(query.to).toISOString().slice(0, 10);
    const cells: FeedbackRollup[] = [];
    await visit<FeedbackRollup>(rollups, (cell) => {
      if (
        cell.count > 0 &&
        (query.modelId === undefined || cell.modelId === query.modelId) &&
        (query.abTestId === undefined || cell.abTestId === query.abTestId) &&
        (query.type === undefined || cell.type === query.type) &&
        (fromDay === undefined || cell.day >= fromDay) &&
        (toDay === undefined || cell.day < toDay)
      ) {
        cells.push(cell);
      }
    });
    const result: FeedbackStats = summarizeRollups(cells);
    if (query.groupBy !== undefined) {
      const groups = new Map<string, FeedbackRollup[]>();
      for (const cell of cells) {
        const key =
          query.groupBy === 'day'
            ? cell.day
            : query.groupBy === 'model'
              ? cell.modelId
              : (cell.variant ?? '(none)');
        const list = groups.get(key);
        if (list === undefined) groups.set(key, [cell]);
        else list.push(cell);
      }
      result.groups = [...groups.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, list]) => ({ key, ...summarizeRollups(list) }));
    }
    return result;
  };

  const all = async (filter: FeedbackFilter): Promise<Feedback[]> => {
    checkDates(filter);
    const collected: Feedback[] = [];
    await visit<Feedback>(feedback, (item) => {
      if (matches(item, filter)) collected.push(item);
    });
    return collected.sort((a, b) =>
      a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1,
    );
  };

  const checkInput = (input: RecordFeedbackInput) => {
    const rating = (input as { rating?: unknown }).rating;
    if (
      rating !== undefined &&
      !(typeof rating === 'number' && Number.isInteger(rating) && rating >= 1 && rating <= 5)
    ) {
      throw tunekitError(
        'FEEDBACK_INVALID_RATING',
        `rating must be an integer from 1 to 5, got ${JSON.stringify(rating)}`,
        { field: 'rating', value: rating },
      );
    }
    const texts: Array<[string, unknown, number]> = [
      ['input', input.input, limits.input],
      ['output', input.output, limits.output],
      ['correctedText', input.correctedText, limits.correctedText],
      [
        'metadata',
        input.metadata === undefined ? undefined : JSON.stringify(input.metadata),
        limits.metadata,
      ],
    ];
    for (const [field, value, limit] of texts) {
      if (typeof value === 'string' && value.length > limit) {
        throw tunekitError(
          'FEEDBACK_TEXT_TOO_LONG',
          `${field} is ${value.length} characters; the limit is ${limit}`,
          { field, length: value.length, limit },
        );
      }
    }
  };

  return {
    async record(input, context) {
      checkInput(input);
      const parsed = parseOrThrow(RecordInputSchema, input, 'feedback');
      let variant: string | undefined;
      let unitId: string | undefined;
      if (parsed.abTestId !== undefined) {
        if (abTests === undefined) {
          throw tunekitError('SERVICE_MISSING', 'Feedback linked to an A/B test needs kit.abTests');
        }
        const test = await abTests.get(parsed.abTestId);
        if (test === undefined) {
          throw tunekitError('NOT_FOUND', `No A/B test "${parsed.abTestId}"`, { abTestId: parsed.abTestId });
        }
        unitId = parsed.unitId ?? parsed.userId;
        variant = (await abTests.assign(test.id, unitId)).variant;
        if (
          test.successMetric.kind === 'rating' &&
          parsed.rating !== undefined &&
          test.status !== 'completed'
        ) {
          try {
            variant = (await abTests.record(test.id, unitId, { outcome: parsed.rating }, context)).variant;
          } catch (error) {
            // A paused test takes no new units; the feedback is still kept.
            if (!(TunekitError.isInstance(error) && error.code === 'ABTEST_NOT_ACTIVE')) throw error;
          }
        }
      }
      const type =
        parsed.type ??
        (parsed.rating !== undefined
          ? 'rating'
          : parsed.correctedText !== undefined
            ? 'correction'
            : 'comment');
      const stored = await feedback.set({
        id: `fb_${randomBytes(8).toString('hex')}`,
        modelId: parsed.modelId,
        userId: parsed.userId,
        sessionId: parsed.sessionId,
        input: parsed.input,
        output: parsed.output,
        correctedText: parsed.correctedText,
        rating: parsed.rating,
        type,
        transformationType: parsed.transformationType,
        tags: parsed.tags,
        abTestId: parsed.abTestId,
        unitId,
        variant,
        metadata: parsed.metadata,
        createdAt: new Date().toISOString(),
        version: 0,
      });
      await addToRollups(stored);
      events.emit('feedback:recorded', {
        feedbackId: stored.id,
        modelId: stored.modelId,
        rating: stored.rating,
        corrected: isCorrection(stored),
        abTestId: stored.abTestId,
        variant: stored.variant,
      });
      await audit.record(
        {
          action: 'feedback.record',
          resourceType: 'feedback',
          resourceId: stored.id,
          outcome: 'success',
          details: { modelId: stored.modelId },
        },
        context,
      );
      return stored;
    },

    get: (id) => feedback.get(id),

    list: (query = {}) =>
      feedback.list({
        filter: (item) => matches(item, query),
        sort: { field: 'createdAt', direction: 'desc' },
        limit: query.limit,
        cursor: query.cursor,
      }),

    async stats(query = {}, statsOptions = {}) {
      checkDates(query);
      if ((statsOptions.source ?? 'auto') === 'auto' && answerableFromRollups(query)) {
        return statsFromRollups(query);
      }
      const items = await all(query);
      const result: FeedbackStats = summarize(items);
      if (query.groupBy !== undefined) {
        const groups = new Map<string, Feedback[]>();
        for (const item of items) {
          const key =
            query.groupBy === 'day'
              ? item.createdAt.slice(0, 10)
              : query.groupBy === 'model'
                ? item.modelId
                : (item.variant ?? '(none)');
          const list = groups.get(key);
          if (list === undefined) groups.set(key, [item]);
          else list.push(item);
        }
        result.groups = [...groups.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, list]) => ({ key, ...summarize(list) }));
      }
      return result;
    },

    async recomputeStats(context) {
      const report = await rebuildRollups();
      await audit.record(
        {
          action: 'feedback.recompute-stats',
          resourceType: 'feedback',
          outcome: 'success',
          details: report,
        },
        context,
      );
      return report;
    },

    async export(exportOptions: ExportFeedbackOptions, context?: OperationContext) {
      if (datasets === undefined) {
        throw tunekitError('SERVICE_MISSING', 'Exporting feedback needs kit.datasets');
      }
      if (exportOptions.as !== 'sft' && exportOptions.as !== 'preference') {
        throw tunekitError(
          'VALIDATION_FAILED',
          `Invalid feedback export: as: expected 'sft' or 'preference'`,
          { issues: [{ path: 'as', message: "expected 'sft' or 'preference'" }] },
        );
      }
      const threshold = exportOptions.lowRatingThreshold ?? 2;
      const items = await all(exportOptions.filter ?? {});
      const rows: Array<Record<string, unknown>> = [];
      let skipped = 0;
      if (exportOptions.as === 'sft') {
        for (const item of items) {
          if (isCorrection(item)) {
            rows.push({
              prompt: item.input,
              completion: item.correctedText,
              feedbackId: item.id,
              modelId: item.modelId,
            });
          } else skipped += 1;
        }
      } else {
        // Best output rated ≥ 4 per input, to pair with low-rated outputs that have no correction.
        const best = new Map<string, Feedback>();
        for (const item of items) {
          if (item.rating !== undefined && item.rating >= 4) {
            const current = best.get(item.input);
            if (current === undefined || (current.rating ?? 0) < item.rating) best.set(item.input, item);
          }
        }
        for (const item of items) {
          if (isCorrection(item)) {
            rows.push({
              prompt: item.input,
              chosen: item.correctedText,
              rejected: item.output,
              feedbackId: item.id,
              modelId: item.modelId,
            });
            continue;
          }
          const better =
            item.rating !== undefined && item.rating <= threshold ? best.get(item.input) : undefined;
          if (
            better !== undefined &&
            better.output !== item.output &&
            better.output.length > 0 &&
            item.output.length > 0
          ) {
            rows.push({
              prompt: item.input,
              chosen: better.output,
              rejected: item.output,
              feedbackId: item.id,
              modelId: item.modelId,
            });
          } else skipped += 1;
        }
      }
      const name = exportOptions.name ?? `feedback-${exportOptions.as}`;
      if (rows.length === 0) {
        throw tunekitError(
          'DATASET_EMPTY',
          `No feedback matching the filter yields ${exportOptions.as === 'sft' ? 'corrections' : 'preference pairs'} (${items.length} matched)`,
          { matched: items.length },
        );
      }
      const version = await datasets.register(
        {
          name,
          kind: 'feedback',
          source: { rows },
          rowFormat: exportOptions.as === 'sft' ? 'prompt-completion' : 'preference',
          description: exportOptions.description ?? `Feedback exported as ${exportOptions.as}`,
        },
        context,
      );
      events.emit('feedback:exported', {
        versionId: version.id,
        datasetName: name,
        as: exportOptions.as,
        rows: rows.length,
      });
      await audit.record(
        {
          action: 'feedback.export',
          resourceType: 'dataset-version',
          resourceId: version.id,
          outcome: 'success',
          details: { as: exportOptions.as, rows: rows.length, skipped },
        },
        context,
      );
      return { version, rows: rows.length, skipped };
    },
  };
}
