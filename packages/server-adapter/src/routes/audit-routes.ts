import { AuditEventSchema, AuditOutcomeSchema, SignedAuditHeadSchema } from '@tunekit/core';
import { z } from 'zod';
import { pageOf } from './common-schemas.js';
import { defineRoute } from './route-definition.js';

/** `GET /audit/logs`: the audit log, newest first by default (admin). */
export const auditLogsRoute = defineRoute({
  method: 'GET',
  path: '/audit/logs',
  operationId: 'listAuditLogs',
  summary: 'Audit events (admin)',
  tag: 'audit',
  access: 'audit:read',
  query: z.object({
    actor: z.string().min(1).max(200).optional(),
    action: z.string().min(1).max(200).optional(),
    resourceType: z.string().min(1).max(100).optional(),
    resourceId: z.string().min(1).max(500).optional(),
    outcome: AuditOutcomeSchema.optional(),
    from: z.iso.datetime().optional(),
    to: z.iso.datetime().optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().min(1).max(500).optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
  }),
  response: pageOf(AuditEventSchema),
  handler: async ({ kit, query }) => kit.audit.query(query),
});

/** What `POST /audit/verify` answers: whether the chain holds, and its first broken link. */
export const AuditVerificationSchema = z.object({
  /** True when every event matches its hash and MAC and chains to the previous one. */
  valid: z.boolean(),
  /** Events checked (up to the break). */
  checked: z.number().int(),
  /** Sequence number of the first broken link. */
  brokenAt: z.number().int().optional(),
  /** Id of the event at the break, when there is one. */
  eventId: z.string().optional(),
  /** Why the chain is broken there. */
  reason: z.string().optional(),
  /** Whether the keyed links were checked (the kit has an audit key). */
  keyed: z.boolean(),
  /** Events written before the key was configured (only their hashes are checked). */
  unkeyedEvents: z.number().int(),
});

/**
 * `POST /audit/verify`: recomputes the audit chain (hashes, and MACs with the kit's audit key) and
 * reports the first broken link; given a `head` exported earlier from `GET /audit/head`, also checks
 * that the log still contains it (a deleted tail with a rewound head is detected). Admin.
 */
export const verifyAuditRoute = defineRoute({
  method: 'POST',
  path: '/audit/verify',
  operationId: 'verifyAuditLog',
  summary:
    'Verify the audit chain and report the first broken link, optionally against an exported head (admin)',
  tag: 'audit',
  access: 'audit:read',
  mutating: false,
  body: z.object({ head: SignedAuditHeadSchema.optional() }).strict().default({}),
  response: AuditVerificationSchema,
  handler: async ({ kit, body }) => kit.audit.verify({ head: body.head }),
});

/**
 * `GET /audit/head`: the chain head signed with the audit key (HMAC-SHA256). Keep it outside the
 * server; `POST /audit/verify` with it later proves the log still holds that event unchanged. 503
 * `AUDIT_KEY_MISSING` without a key. Admin.
 */
export const exportAuditHeadRoute = defineRoute({
  method: 'GET',
  path: '/audit/head',
  operationId: 'exportAuditHead',
  summary: 'Signed export of the audit chain head (admin; needs an audit key)',
  tag: 'audit',
  access: 'audit:read',
  response: SignedAuditHeadSchema,
  handler: async ({ kit }) => kit.audit.exportHead(),
});

/** Audit routes. */
export const auditRoutes = [auditLogsRoute, verifyAuditRoute, exportAuditHeadRoute];
