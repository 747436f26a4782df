import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ABTestService } from '../ab-tests/ab-test-service.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { DatasetService } from '../datasets/dataset-service.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { TunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { OperationContext } from '../kit/operation-context.js';
import { type Feedback, FeedbackSchema } from '../schemas/feedback.js';
import type { Storage } from '../storage/collection.js';
import type {
  ExportFeedbackOptions,
  FeedbackFilter,
  FeedbackService,
  FeedbackStats,
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
  const { storage, events, datasets, abTests, audit } = options;
  const limits = {
    input: options.limits?.maxInputLength ?? 100_000,
    output: options.limits?.maxOutputLength ?? 100_000,
    correctedText: options.limits?.maxCorrectedTextLength ?? 100_000,
    metadata: options.limits?.maxMetadataLength ?? 16_384,
  };
  const feedback = storage.collection('feedback', FeedbackSchema);

  const all = async (filter: FeedbackFilter): Promise<Feedback[]> => {
    for (const field of ['from', 'to'] as const) {
      const value = filter[field];
      if (value !== undefined && Number.isNaN(Date.parse(value))) {
        throw new TunekitError({
          code: 'VALIDATION_FAILED',
          status: ErrorCodes.VALIDATION_FAILED.status,
          message: `Invalid feedback filter: ${field}: expected an ISO date or time, got ${JSON.stringify(value)}`,
          details: { issues: [{ path: field, message: 'expected an ISO date or time' }] },
        });
      }
    }
    const collected: Feedback[] = [];
    let cursor: string | undefined;
    do {
      const page = await feedback.list({ filter: (item) => matches(item, filter), limit: 1000, cursor });
      collected.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
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
      throw new TunekitError({
        code: 'FEEDBACK_INVALID_RATING',
        status: ErrorCodes.FEEDBACK_INVALID_RATING.status,
        message: `rating must be an integer from 1 to 5, got ${JSON.stringify(rating)}`,
        details: { field: 'rating', value: rating },
      });
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
        throw new TunekitError({
          code: 'FEEDBACK_TEXT_TOO_LONG',
          status: ErrorCodes.FEEDBACK_TEXT_TOO_LONG.status,
          message: `${field} is ${value.length} characters; the limit is ${limit}`,
          details: { field, length: value.length, limit },
        });
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
          throw new TunekitError({
            code: 'SERVICE_MISSING',
            status: ErrorCodes.SERVICE_MISSING.status,
            message: 'Feedback linked to an A/B test needs kit.abTests',
          });
        }
        const test = await abTests.get(parsed.abTestId);
        if (test === undefined) {
          throw new TunekitError({
            code: 'NOT_FOUND',
            status: ErrorCodes.NOT_FOUND.status,
            message: `No A/B test "${parsed.abTestId}"`,
            details: { abTestId: parsed.abTestId },
          });
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
      events.emit('feedback:recorded', {
        feedbackId: stored.id,
        modelId: stored.modelId,
        rating: stored.rating,
        corrected: isCorrection(stored),
        abTestId: stored.abTestId,
        variant: stored.variant,
      });
      await audit?.record(
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

    async stats(query = {}) {
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

    async export(exportOptions: ExportFeedbackOptions, context?: OperationContext) {
      if (datasets === undefined) {
        throw new TunekitError({
          code: 'SERVICE_MISSING',
          status: ErrorCodes.SERVICE_MISSING.status,
          message: 'Exporting feedback needs kit.datasets',
        });
      }
      if (exportOptions.as !== 'sft' && exportOptions.as !== 'preference') {
        throw new TunekitError({
          code: 'VALIDATION_FAILED',
          status: ErrorCodes.VALIDATION_FAILED.status,
          message: `Invalid feedback export: as: expected 'sft' or 'preference'`,
          details: { issues: [{ path: 'as', message: "expected 'sft' or 'preference'" }] },
        });
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
        throw new TunekitError({
          code: 'DATASET_EMPTY',
          status: ErrorCodes.DATASET_EMPTY.status,
          message: `No feedback matching the filter yields ${exportOptions.as === 'sft' ? 'corrections' : 'preference pairs'} (${items.length} matched)`,
          details: { matched: items.length },
        });
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
      await audit?.record(
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
