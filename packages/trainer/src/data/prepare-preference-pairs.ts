import { tunekitError } from '@tunekit/core';
import { z } from 'zod';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { IGNORE_INDEX, type TokenSequence, tokenizeRow } from './prepare-sequences.js';

/** A preference row for DPO: one prompt, a preferred and a dispreferred completion. */
export const PreferenceRowSchema = z.object({
  prompt: z.string(),
  chosen: z.string().min(1),
  rejected: z.string().min(1),
});
/** A preference row for DPO. */
export type PreferenceRow = z.infer<typeof PreferenceRowSchema>;

/** Options of {@link preparePreferencePairs}. */
export interface PreparePreferencePairsOptions {
  tokenizer: Tokenizer;
  /** Longest sequence (prompt + completion + end-of-sequence). */
  maxLength: number;
  /** An over-long sequence: cut from the end (counted), or the pair dropped (listed). Default truncate. */
  overflow?: 'truncate' | 'reject';
}

/** The outcome of {@link preparePreferencePairs}. */
export interface PreparedPreferencePairs {
  /** One sequence per pair: the chosen completion, with the rejected one in `rejected`. */
  pairs: TokenSequence[];
  /** Pairs with a sequence cut to `maxLength`. */
  truncated: number;
  /** Row indices of pairs dropped: too long with overflow `reject`, or nothing of a completion left. */
  rejected: number[];
}

/**
 * Tokenizes `{ prompt, chosen, rejected }` rows into DPO pairs: each completion after its prompt,
 * labels only on the completion and the end-of-sequence token (as a prompt/completion row), the
 * rejected sequence attached to the chosen one. A pair whose completion would be cut away entirely
 * is dropped and listed, since it carries no preference. A row that is not a preference row fails
 * with `VALIDATION_FAILED` naming its index.
 */
export function preparePreferencePairs(
  rows: readonly unknown[],
  options: PreparePreferencePairsOptions,
): PreparedPreferencePairs {
  const { tokenizer, maxLength, overflow = 'truncate' } = options;
  const pairs: TokenSequence[] = [];
  const rejected: number[] = [];
  let truncated = 0;
  rows.forEach((raw, index) => {
    const parsed = PreferenceRowSchema.safeParse(raw);
    if (!parsed.success) {
      throw tunekitError(
        'VALIDATION_FAILED',
        `Row ${index} is not a preference row: expected { prompt, chosen, rejected }`,
        { row: index, issues: parsed.error.issues.map((issue) => issue.message) },
      );
    }
    const { prompt, chosen, rejected: dispreferred } = parsed.data;
    const sequences = [chosen, dispreferred].map((completion) =>
      tokenizeRow({ prompt, completion }, tokenizer),
    ) as [TokenSequence, TokenSequence];
    const tooLong = sequences.some((sequence) => sequence.inputIds.length > maxLength);
    if (tooLong && overflow === 'reject') {
      rejected.push(index);
      return;
    }
    const [first, second] = sequences.map((sequence) => ({
      inputIds: sequence.inputIds.slice(0, maxLength),
      labels: sequence.labels.slice(0, maxLength),
    })) as [TokenSequence, TokenSequence];
    // The loss shifts labels by one: a label at position 0 is never counted.
    const counted = (sequence: TokenSequence) =>
      sequence.labels.some((label, at) => at > 0 && label !== IGNORE_INDEX);
    if (!counted(first) || !counted(second)) {
      rejected.push(index);
      return;
    }
    if (tooLong) truncated += 1;
    pairs.push({ ...first, rejected: second });
  });
  return { pairs, truncated, rejected };
}
