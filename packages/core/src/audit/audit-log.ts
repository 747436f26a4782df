import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { z } from 'zod';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
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
  mac: z.string().optional(),
  version: z.number().int().min(0).optional(),
});

const HexDigestSchema = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The chain head as {@link AuditLog.exportHead} signs it: keep a copy outside the server (a ticket,
 * another system's log) and later `verify({ head })` proves the log still contains that event
 * unchanged, so a deleted tail or a rewritten chain is detected even by whoever can rewrite the head.
 */
export const SignedAuditHeadSchema = z
  .object({
    /** Sequence of the last event when exported (0: empty log). */
    sequence: z.number().int().min(0),
    /** Its `hash`. */
    hash: HexDigestSchema,
    /** Its `mac`. */
    mac: HexDigestSchema,
    /** When the head was exported (ISO time). */
    exportedAt: z.string().min(1),
    /** `sha256-hmac` of the other fields' canonical JSON with the audit key (hex). */
    signature: HexDigestSchema,
  })
  .strict();

/** A signed export of the audit chain head. */
export type SignedAuditHead = z.infer<typeof SignedAuditHeadSchema>;

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
  /** Whether the keyed links (`mac`) were checked: the log has a key. */
  keyed: boolean;
  /** Events before the first keyed one (written before a key was configured): only their hashes are checked. */
  unkeyedEvents: number;
}

/** Options of {@link AuditLog.verify}. */
export interface AuditVerifyOptions {
  /** A head exported earlier ({@link AuditLog.exportHead}): the log must still contain it, unchanged. */
  head?: SignedAuditHead;
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
  /**
   * Recomputes the hash chain (and, with a key, the keyed `mac` links) over every event and reports
   * the first break; with `head`, also checks that exported head against the log.
   */
  verify(options?: AuditVerifyOptions): Promise<AuditVerification>;
  /** Signs the current chain head with the audit key (`AUDIT_KEY_MISSING` without one). */
  exportHead(): Promise<SignedAuditHead>;
  /** Whether the log has a key (keyed chain, signed heads). */
  readonly keyed: boolean;
}

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  storage: Storage;
  /** Clock for event times (tests). */
  now?: () => Date;
  /**
   * HMAC key of the keyed chain (at least 32 characters or bytes), kept outside the database. Without
   * it events carry only the unkeyed hash chain, which anyone with write access can recompute.
   */
  key?: string | Uint8Array;
}

/** The sha256 (hex) of an event's canonical JSON without `hash` and `version`. */
export function hashAuditEvent(
  event: Omit<AuditEvent, 'hash' | 'version'> & { hash?: string; version?: number },
): string {
  const { hash: _hash, version: _version, mac: _mac, ...content } = event as typeof event & { mac?: string };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** The keyed link of an event: HMAC-SHA256 of the previous event's `mac` and this event's `hash`. */
export function macAuditEvent(key: string | Uint8Array, previousMac: string, hash: string): string {
  return createHmac('sha256', key).update(`tunekit-audit-chain:${previousMac}:${hash}`).digest('hex');
}

function signHead(key: string | Uint8Array, head: Omit<SignedAuditHead, 'signature'>): string {
  return createHmac('sha256', key)
    .update(`tunekit-audit-head:${canonicalJson(head)}`)
    .digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
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
  const key = options.key;
  if (key !== undefined && (typeof key === 'string' ? key.length : key.byteLength) < 32) {
    throw tunekitError(
      'VALIDATION_FAILED',
      'Invalid audit options: key: needs at least 32 characters or bytes',
      { issues: [{ path: 'key', message: 'needs at least 32 characters or bytes' }] },
    );
  }
  let chain: Promise<unknown> = Promise.resolve();

  const buildEvent = (
    entry: z.infer<typeof AuditEntryInputSchema>,
    context: OperationContext,
    head: { sequence: number; hash: string; mac?: string } | undefined,
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
    const hash = hashAuditEvent(base);
    if (key === undefined) return { ...base, hash };
    return { ...base, hash, mac: macAuditEvent(key, head?.mac ?? AUDIT_GENESIS_HASH, hash) };
  };

  const appendOnce = async (entry: z.infer<typeof AuditEntryInputSchema>, context: OperationContext) => {
    let event: AuditEvent | undefined;
    try {
      // The event is built from the head that `update` read; its compare-and-set fails with
      // CONFLICT (and `append` retries) when another writer moved the head in between.
      await heads.update('head', (current) => {
        event = buildEvent(entry, context, current);
        return { ...current, sequence: event.sequence, hash: event.hash, mac: event.mac };
      });
    } catch (error) {
      if (!(TunekitError.isInstance(error) && error.code === 'NOT_FOUND')) throw error;
      event = buildEvent(entry, context, undefined);
      await heads.set({ id: 'head', sequence: event.sequence, hash: event.hash, mac: event.mac });
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
    keyed: key !== undefined,
    async exportHead() {
      if (key === undefined) {
        throw tunekitError(
          'AUDIT_KEY_MISSING',
          'The audit log has no key: configure one (audit.key, TUNEKIT_AUDIT_KEY) to sign its head',
        );
      }
      const head = await heads.get('head');
      const unsigned = {
        sequence: head?.sequence ?? 0,
        hash: head?.hash ?? AUDIT_GENESIS_HASH,
        mac: head?.mac ?? AUDIT_GENESIS_HASH,
        exportedAt: now().toISOString(),
      };
      return { ...unsigned, signature: signHead(key, unsigned) };
    },
    async verify(verifyOptions = {}) {
      const keyed = key !== undefined;
      const exported =
        verifyOptions.head === undefined
          ? undefined
          : parseOrThrow(SignedAuditHeadSchema, verifyOptions.head, 'exported audit head');
      let expected = 1;
      let previousHash = AUDIT_GENESIS_HASH;
      let previousMac = AUDIT_GENESIS_HASH;
      let seenKeyed = false;
      let unkeyedEvents = 0;
      let checked = 0;
      let exportedFound = false;
      const result = (broken?: { brokenAt: number; eventId?: string; reason: string }): AuditVerification =>
        broken === undefined
          ? { valid: true, checked, keyed, unkeyedEvents }
          : { valid: false, checked, keyed, unkeyedEvents, ...broken };
      if (exported !== undefined) {
        if (key === undefined) {
          return result({
            brokenAt: exported.sequence,
            reason: 'the log has no key to check an exported head with',
          });
        }
        const { signature, ...unsigned } = exported;
        if (!sameHex(signHead(key, unsigned), signature)) {
          return result({
            brokenAt: exported.sequence,
            reason: 'the exported head is not signed with this audit key (forged or another key)',
          });
        }
        exportedFound = exported.sequence === 0;
      }
      let cursor: string | undefined;
      do {
        const page = await events.list({
          sort: { field: 'sequence', direction: 'asc' },
          limit: 1000,
          cursor,
        });
        for (const event of page.items) {
          const broken = (reason: string) => result({ brokenAt: expected, eventId: event.id, reason });
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
          if (key !== undefined) {
            if (event.mac === undefined) {
              if (seenKeyed) {
                return broken(
                  `event ${expected} has no MAC after keyed events (written without the key, or stripped)`,
                );
              }
              unkeyedEvents += 1;
            } else {
              if (!sameHex(macAuditEvent(key, previousMac, event.hash), event.mac)) {
                return broken(
                  `event ${expected} does not match its MAC (edited and re-hashed, re-chained, or written with another key)`,
                );
              }
              seenKeyed = true;
              previousMac = event.mac;
            }
          }
          if (exported !== undefined && event.sequence === exported.sequence) {
            if (event.hash !== exported.hash || (event.mac ?? AUDIT_GENESIS_HASH) !== exported.mac) {
              return broken(`event ${expected} differs from the exported head (the log was rewritten)`);
            }
            exportedFound = true;
          }
          previousHash = event.hash;
          expected += 1;
          checked += 1;
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      const last = expected - 1;
      if (exported !== undefined && !exportedFound) {
        return result({
          brokenAt: last + 1,
          reason: `events ${last + 1} to ${exported.sequence} of the exported head are missing (deleted from the end)`,
        });
      }
      const head = await heads.get('head');
      if (head && (head.sequence !== last || head.hash !== previousHash)) {
        return result({
          brokenAt: last + 1,
          reason:
            head.sequence > last
              ? `events ${last + 1} to ${head.sequence} are missing (deleted from the end)`
              : `the chain head (sequence ${head.sequence}) does not match the last event (sequence ${last})`,
        });
      }
      return result();
    },
  };
}

function toTime(value: string | Date, field: string): number {
  const time = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(time)) {
    throw tunekitError('VALIDATION_FAILED', `Invalid audit query: ${field}: not a date`, {
      issues: [{ path: field, message: 'not a date' }],
    });
  }
  return time;
}
