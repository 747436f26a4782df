import { TunekitError, tunekitError } from '@tunekit/core';
import { z } from 'zod';

/** Content type of error responses (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An error response: RFC 9457 problem details with Tunekit's error code. */
export const ProblemDetailsSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  /** Tunekit error code (`VALIDATION_FAILED`, `FORBIDDEN` …). */
  code: z.string(),
  /** Request id (also in the `x-request-id` header). */
  requestId: z.string().optional(),
  /** Failing fields of a `VALIDATION_FAILED` error. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** An error response body. */
export type ProblemDetails = z.infer<typeof ProblemDetailsSchema>;

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The TunekitError for any thrown value (unknown errors become `INTERNAL` 500 without leaking their message). */
export function toTunekitError(error: unknown): TunekitError {
  if (TunekitError.isInstance(error)) return error;
  return tunekitError('INTERNAL', 'Internal server error', undefined, { cause: error });
}

/** Problem details of an error. */
export function toProblem(error: TunekitError, requestId?: string): ProblemDetails {
  const status = error.status >= 400 && error.status < 600 ? error.status : 500;
  const { issues, ...details } = error.details as { issues?: ProblemDetails['issues'] };
  return {
    type: `https://tunekit.dev/errors/${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: titles[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
    requestId,
    ...(Array.isArray(issues) ? { issues } : {}),
    ...(Object.keys(details).length > 0 && status < 500 ? { details } : {}),
  };
}
