/**
 * Who performs a mutating operation, passed as the last optional argument of every service method that
 * changes state (`register(input, context)`), so that the audit log can record actor and request.
 */
export interface OperationContext {
  /** User id or API key name of the caller; `system` when omitted. */
  actor?: string;
  /** Request id (HTTP) for correlation. */
  requestId?: string;
  /** Client IP address (HTTP). */
  ip?: string;
}
