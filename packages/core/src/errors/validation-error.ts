import type { z } from 'zod';
import { ErrorCodes } from './error-codes.js';
import { TunekitError } from './tunekit-error.js';

/** One failing field of a rejected input: a dotted path (`lora.rank`, `roles.0`, or `(root)`) and a message. */
export interface ValidationFieldIssue {
  path: string;
  message: string;
}

/** Converts the issues of a zod error into `{ path, message }` pairs with dotted paths. */
export function toValidationIssues(error: z.ZodError): ValidationFieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length === 0 ? '(root)' : issue.path.map((part) => String(part)).join('.'),
    message: issue.message,
  }));
}

/**
 * Builds the `VALIDATION_FAILED` {@link TunekitError} for a zod error: the message names `what` and
 * lists every failing field (`Invalid training job: input.lora.rank: Too small: expected number to be >0`),
 * and `details` carries `{ what, issues: [{ path, message }] }` for HTTP problem documents.
 */
export function validationFailed(error: z.ZodError, what: string): TunekitError {
  const issues = toValidationIssues(error);
  return new TunekitError({
    code: 'VALIDATION_FAILED',
    status: ErrorCodes.VALIDATION_FAILED.status,
    message: `Invalid ${what}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
    details: { what, issues },
    cause: error,
  });
}

/**
 * Parses `value` with `schema` and returns the parsed (defaulted) value; on failure throws a
 * `VALIDATION_FAILED` {@link TunekitError} with readable field messages (see {@link validationFailed}).
 * Use it at every boundary where outside input enters Tunekit.
 *
 * @param what - what is being validated, for the message (e.g. `'kit options'`, `'training job input'`).
 * @example
 * ```ts
 * const options = parseOrThrow(TunekitOptionsSchema, rawOptions, 'kit options');
 * ```
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) {
    return result.data;
  }
  throw validationFailed(result.error, what);
}
