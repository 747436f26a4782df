import { TunekitError } from '@tunekit/core';
import { type TrainingRow, TrainingRowSchema } from './training-row.js';

/** Validates one dataset row; a bad row fails with `VALIDATION_FAILED` naming its index. */
export function parseRow(raw: unknown, index: number): TrainingRow {
  const result = TrainingRowSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new TunekitError({
    code: 'VALIDATION_FAILED',
    status: 400,
    message: `Row ${index} is not a training row: expected { text } or { prompt, completion } or { messages }`,
    details: { row: index, issues: result.error.issues.map((issue) => issue.message) },
  });
}
