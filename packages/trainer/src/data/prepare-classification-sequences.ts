import { tunekitError } from '@tunekit/core';
import { z } from 'zod';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { TokenSequence } from './prepare-sequences.js';

/** A sequence-classification row: a text and its label (a name from `label2id`, or a class id). */
export const ClassificationRowSchema = z.object({
  text: z.string().min(1),
  label: z.union([z.string().min(1), z.number().int().min(0)]),
});
/** A sequence-classification row. */
export type ClassificationRow = z.infer<typeof ClassificationRowSchema>;

/** Options of {@link prepareClassificationSequences}. */
export interface PrepareClassificationOptions {
  tokenizer: Tokenizer;
  /** Longest sequence, special tokens included; longer texts keep their first tokens and the last special one. */
  maxLength: number;
  /** Label names to class ids (the model config's `label2id`). */
  label2id: Record<string, number>;
}

/** The outcome of {@link prepareClassificationSequences}. */
export interface PreparedClassification {
  sequences: TokenSequence[];
  /** Examples cut to `maxLength`. */
  truncated: number;
}

/**
 * Encodes one text for a classifier with the tokenizer's special tokens (`[CLS] … [SEP]`, `<s> … </s>`),
 * cut to `maxLength` keeping the closing special token.
 */
export function encodeForClassification(
  tokenizer: Tokenizer,
  text: string,
  maxLength: number,
): { ids: number[]; truncated: boolean } {
  const ids = tokenizer.encode(text, { addSpecialTokens: true });
  if (ids.length <= maxLength) return { ids, truncated: false };
  const last = ids.at(-1) as number;
  return { ids: [...ids.slice(0, maxLength - 1), last], truncated: true };
}

/**
 * Tokenizes `{ text, label }` rows into classification sequences (`classLabel` set, batched by
 * `collateBatch` into `[batch]` labels). Labels are names from `label2id` or class ids below the
 * number of labels; anything else fails with `VALIDATION_FAILED` naming the row.
 */
export function prepareClassificationSequences(
  rows: readonly unknown[],
  options: PrepareClassificationOptions,
): PreparedClassification {
  const count = Object.keys(options.label2id).length;
  const known = Object.keys(options.label2id).join(', ');
  let truncated = 0;
  const sequences = rows.map((raw, index): TokenSequence => {
    const parsed = ClassificationRowSchema.safeParse(raw);
    if (!parsed.success) {
      throw tunekitError(
        'VALIDATION_FAILED',
        `Row ${index} is not a classification row: expected { text, label }`,
        { row: index, issues: parsed.error.issues.map((issue) => issue.message) },
      );
    }
    const { text, label } = parsed.data;
    const classLabel = typeof label === 'number' ? label : options.label2id[label];
    if (classLabel === undefined || classLabel >= count) {
      throw tunekitError(
        'VALIDATION_FAILED',
        `Row ${index}: unknown label ${JSON.stringify(label)} (labels: ${known})`,
        { row: index, label, labels: Object.keys(options.label2id) },
      );
    }
    const encoded = encodeForClassification(options.tokenizer, text, options.maxLength);
    if (encoded.truncated) truncated += 1;
    return { inputIds: encoded.ids, labels: [], classLabel };
  });
  return { sequences, truncated };
}
