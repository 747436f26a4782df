import { z } from 'zod';

/** Hex sha256 digest. */
const HashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex sha256 digest');

/** Outcome of an audited operation. */
export const AuditOutcomeSchema = z.enum(['success', 'failure', 'denied']);

/** Outcome of an audited operation. */
export type AuditOutcome = z.infer<typeof AuditOutcomeSchema>;

/**
 * One append-only audit event. `hash` is the sha256 of the canonical JSON of every other field
 * (keys sorted, `hash`, `mac` and storage `version` left out), and `previousHash` is the hash of the event
 * with the previous `sequence` (64 zeros for the first), so an edited, deleted or reordered event
 * breaks the chain.
 */
export const AuditEventSchema = z.object({
  id: z.string().min(1),
  /** 1 for the first event, then +1 per event, without gaps. */
  sequence: z.number().int().min(1),
  /** ISO 8601 time of recording. */
  time: z.string().min(1),
  /** User id or API key name; `system` for internal operations. */
  actor: z.string().min(1),
  /** Verb in `noun.verb` form, e.g. `dataset.register`. */
  action: z.string().min(1),
  resourceType: z.string().min(1),
  resourceId: z.string().optional(),
  outcome: AuditOutcomeSchema,
  requestId: z.string().optional(),
  ip: z.string().optional(),
  details: z.record(z.string(), z.unknown()),
  previousHash: HashSchema,
  hash: HashSchema,
  /**
   * Keyed link of the chain: HMAC-SHA256, with the audit key kept outside the database, of the
   * previous event's `mac` (64 zeros for the first keyed event) and this event's `hash`. Present when
   * the log was written with a key; without the key nobody can re-chain edited events unnoticed.
   */
  mac: HashSchema.optional(),
  /** Storage compare-and-set version (not part of the hash). */
  version: z.number().int().min(0).optional(),
});

/** One audit event. */
export type AuditEvent = z.infer<typeof AuditEventSchema>;
