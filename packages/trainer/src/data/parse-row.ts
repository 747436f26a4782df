import { tunekitError } from '@tunekit/core';
import { type TrainingRow, TrainingRowSchema } from './training-row.js';

/** Validates one dataset row; a bad row fails with `VALIDATION_FAILED` naming its index. */
export function parseRow(raw: unknown, index: number): TrainingRow {
  const result = TrainingRowSchema.safeParse(raw);
  if (result.success) return result.data;
  throw tunekitError(
    'VALIDATION_FAILED',
    `Row ${index} is not a training row: expected { text } or { prompt, completion } or { messages }`,
    { row: index, issues: result.error.issues.map((issue) => issue.message) },
  );
}
