import { AuditEventSchema, AuditOutcomeSchema } from '@tunekit/core';
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

/** Audit routes. */
export const auditRoutes = [auditLogsRoute];
