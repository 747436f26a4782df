import { createHash, randomUUID } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { z } from 'zod';
import { TunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import type { OperationContext } from '../kit/operation-context.js';
import { type AuditEvent, AuditEventSchema, AuditOutcomeSchema } from '../schemas/audit-event.js';
import type { Collection, Storage } from '../storage/collection.js';
import type { AuditEntryInput, AuditSink } from './audit-sink.js';

/** `previousHash` of the first event. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Name of the collection that holds audit events. */
export const AUDIT_EVENTS_COLLECTION = 'audit-events';

/** Name of the collection that holds the chain head (last sequence and hash). */
export const AUDIT_HEAD_COLLECTION = 'audit-head';

const AuditEntryInputSchema = z.object({
  action: z.string().min(1),
  resourceType: z.string().min(1),
  resourceId: z.string().optional(),
  outcome: AuditOutcomeSchema,
  details: z.record(z.string(), z.unknown()).optional(),
});

const AuditHeadSchema = z.object({
  id: z.literal('head'),
  sequence: z.number().int().min(0),
  hash: z.string(),
  version: z.number().int().min(0).optional(),
});

/** A query over the audit log. */
export const AuditQuerySchema = z.object({
  actor: z.string().optional(),
  /** Exact action, or a prefix ending in `.*` (`dataset.*`). */
  action: z.string().optional(),
  resourceType: z.string().optional(),
  resourceId: z.string().optional(),
  outcome: AuditOutcomeSchema.optional(),
  /** Inclusive lower bound on `time` (ISO string or Date). */
  from: z.union([z.string(), z.date()]).optional(),
  /** Exclusive upper bound on `time` (ISO string or Date). */
  to: z.union([z.string(), z.date()]).optional(),
  /** Page size (default 50, at most 1000). */
  limit: z.number().int().min(1).max(1000).optional(),
  /** `nextCursor` of the previous page. */
  cursor: z.string().optional(),
  /** Newest first (`desc`, default) or oldest first. */
  order: z.enum(['asc', 'desc']).optional(),
});

/** A query over the audit log. */
export type AuditQuery = z.input<typeof AuditQuerySchema>;

/** One page of audit events. */
export interface AuditPage {
  items: AuditEvent[];
  nextCursor?: string;
}

/** Result of {@link AuditLog.verify}. */
export interface AuditVerification {
  /** True when every event's hash matches its content and chains to the previous one. */
  valid: boolean;
  /** Events checked (up to the break). */
  checked: number;
  /** Sequence number at which the chain breaks. */
  brokenAt?: number;
  /** Id of the event at the break, when there is one. */
  eventId?: string;
  /** Why the chain is broken. */
  reason?: string;
}

/** The audit log (`kit.audit`): the {@link AuditSink} services write to, plus query and verification. */
export interface AuditLog extends AuditSink {
  /** Appends one event (serialized: sequence and hash chain never fork in this process). */
  record(entry: AuditEntryInput, context?: OperationContext): Promise<void>;
  /** Like `record`, returning the stored event. */
  append(entry: AuditEntryInput, context?: OperationContext): Promise<AuditEvent>;
  get(id: string): Promise<AuditEvent | undefined>;
  /** Events matching the filters, newest first by default, with cursor pagination. */
  query(query?: AuditQuery): Promise<AuditPage>;
  /** Recomputes the hash chain over every event and reports the first break. */
  verify(): Promise<AuditVerification>;
}

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  storage: Storage;
  /** Clock for event times (tests). */
  now?: () => Date;
}

/** The sha256 (hex) of an event's canonical JSON without `hash` and `version`. */
export function hashAuditEvent(
  event: Omit<AuditEvent, 'hash' | 'version'> & { hash?: string; version?: number },
): string {
  const { hash: _hash, version: _version, ...content } = event;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** Canonical JSON: keys sorted at every level, no whitespace, `undefined` fields left out. */
export function canonicalJson(value: unknown): string {
  return stringify(value) ?? 'null';
}

/**
 * Creates the audit log over the kit's storage. Events live in the `audit-events` collection and
 * the chain head in `audit-head`; appends are serialized in-process, and the head is advanced with
 * compare-and-set so that two processes sharing a store do not fork the chain (a lost race retries).
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  // Listing pages by sequence (verify, unfiltered queries): indexed on SQLite and PostgreSQL.
  const events: Collection<AuditEvent> = options.storage.collection(
    AUDIT_EVENTS_COLLECTION,
    AuditEventSchema,
    { indexes: ['sequence'] },
  );
  const heads = options.storage.collection(AUDIT_HEAD_COLLECTION, AuditHeadSchema);
  const now = options.now ?? (() => new Date());
  let chain: Promise<unknown> = Promise.resolve();

  const buildEvent = (
    entry: z.infer<typeof AuditEntryInputSchema>,
    context: OperationContext,
    head: { sequence: number; hash: string } | undefined,
  ): AuditEvent => {
    const base = {
      id: randomUUID(),
      sequence: (head?.sequence ?? 0) + 1,
      time: now().toISOString(),
      actor: context.actor ?? 'system',
      action: entry.action,
      resourceType: entry.resourceType,
      ...(entry.resourceId !== undefined ? { resourceId: entry.resourceId } : {}),
      outcome: entry.outcome,
      ...(context.requestId !== undefined ? { requestId: context.requestId } : {}),
      ...(context.ip !== undefined ? { ip: context.ip } : {}),
      // A JSON round trip makes the hashed form equal to what any store gives back.
      details: JSON.parse(JSON.stringify(entry.details ?? {})) as Record<string, unknown>,
      previousHash: head?.hash ?? AUDIT_GENESIS_HASH,
    };
    return { ...base, hash: hashAuditEvent(base) };
  };

  const appendOnce = async (entry: z.infer<typeof AuditEntryInputSchema>, context: OperationContext) => {
    let event: AuditEvent | undefined;
    try {
      // The event is built from the head that `update` read; its compare-and-set fails with
      // CONFLICT (and `append` retries) when another writer moved the head in between.
      await heads.update('head', (current) => {
        event = buildEvent(entry, context, current);
        return { ...current, sequence: event.sequence, hash: event.hash };
      });
    } catch (error) {
      if (!(TunekitError.isInstance(error) && error.code === 'NOT_FOUND')) throw error;
      event = buildEvent(entry, context, undefined);
      await heads.set({ id: 'head', sequence: event.sequence, hash: event.hash });
    }
    if (event === undefined) throw new Error('unreachable: the audit head update built no event');
    await events.set(event);
    return event;
  };

  const append = (entryInput: AuditEntryInput, context: OperationContext = {}): Promise<AuditEvent> => {
    const entry = parseOrThrow(AuditEntryInputSchema, entryInput, 'audit entry');
    const run = async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await appendOnce(entry, context);
        } catch (error) {
          if (!(TunekitError.isInstance(error) && error.code === 'CONFLICT') || attempt >= 5) throw error;
        }
      }
    };
    const next = chain.then(run, run);
    chain = next.catch(() => {});
    return next;
  };

  return {
    append,
    async record(entry, context) {
      await append(entry, context);
    },
    get: (id) => events.get(id),
    async query(queryInput = {}) {
      const query = parseOrThrow(AuditQuerySchema, queryInput, 'audit query');
      const from = query.from === undefined ? undefined : toTime(query.from, 'from');
      const to = query.to === undefined ? undefined : toTime(query.to, 'to');
      const actionPrefix = query.action?.endsWith('.*') ? query.action.slice(0, -1) : undefined;
      const page = await events.list({
        filter: (event) =>
          (query.actor === undefined || event.actor === query.actor) &&
          (query.action === undefined ||
            (actionPrefix !== undefined
              ? event.action.startsWith(actionPrefix)
              : event.action === query.action)) &&
          (query.resourceType === undefined || event.resourceType === query.resourceType) &&
          (query.resourceId === undefined || event.resourceId === query.resourceId) &&
          (query.outcome === undefined || event.outcome === query.outcome) &&
          (from === undefined || Date.parse(event.time) >= from) &&
          (to === undefined || Date.parse(event.time) < to),
        sort: { field: 'sequence', direction: query.order ?? 'desc' },
        limit: query.limit ?? 50,
        cursor: query.cursor,
      });
      return page.nextCursor === undefined
        ? { items: page.items }
        : { items: page.items, nextCursor: page.nextCursor };
    },
    async verify() {
      let expected = 1;
      let previousHash = AUDIT_GENESIS_HASH;
      let checked = 0;
      let cursor: string | undefined;
      do {
        const page = await events.list({
          sort: { field: 'sequence', direction: 'asc' },
          limit: 1000,
          cursor,
        });
        for (const event of page.items) {
          const broken = (reason: string): AuditVerification => ({
            valid: false,
            checked,
            brokenAt: expected,
            eventId: event.id,
            reason,
          });
          if (event.sequence > expected) {
            return broken(
              `event ${expected} is missing (deleted): the next event has sequence ${event.sequence}`,
            );
          }
          if (event.sequence < expected) {
            return broken(
              `sequence ${event.sequence} appears again after ${expected - 1} (duplicated or reordered)`,
            );
          }
          if (event.previousHash !== previousHash) {
            return broken(
              `event ${expected} does not chain to the hash of event ${expected - 1} (deleted, inserted or reordered)`,
            );
          }
          if (hashAuditEvent(event) !== event.hash) {
            return broken(`event ${expected} does not match its hash (edited)`);
          }
          previousHash = event.hash;
          expected += 1;
          checked += 1;
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      const head = await heads.get('head');
      const last = expected - 1;
      if (head && (head.sequence !== last || head.hash !== previousHash)) {
        return {
          valid: false,
          checked,
          brokenAt: last + 1,
          reason:
            head.sequence > last
              ? `events ${last + 1} to ${head.sequence} are missing (deleted from the end)`
              : `the chain head (sequence ${head.sequence}) does not match the last event (sequence ${last})`,
        };
      }
      return { valid: true, checked };
    },
  };
}

function toTime(value: string | Date, field: string): number {
  const time = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(time)) {
    throw new TunekitError({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: `Invalid audit query: ${field}: not a date`,
      details: { issues: [{ path: field, message: 'not a date' }] },
    });
  }
  return time;
}
