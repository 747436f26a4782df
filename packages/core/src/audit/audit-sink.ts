import type { OperationContext } from '../kit/operation-context.js';

/** What a service reports to the audit log for one mutating operation. */
export interface AuditEntryInput {
  /** Verb in `noun.verb` form, e.g. `dataset.register`, `model.transition`. */
  action: string;
  resourceType: string;
  resourceId?: string;
  outcome: 'success' | 'failure' | 'denied';
  details?: Record<string, unknown>;
}

/**
 * The write side of the audit log that every service receives: services call
 * `audit.record(entry, context)` after each mutating operation (success or failure).
 */
export interface AuditSink {
  record(entry: AuditEntryInput, context?: OperationContext): Promise<void>;
}
