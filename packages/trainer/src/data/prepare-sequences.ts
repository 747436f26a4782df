import { tunekitError } from '@tunekit/core';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { parseRow } from './parse-row.js';
import {
  type ChatFormatter,
  simpleChatTemplate,
  type TextSegment,
  type TrainingRow,
} from './training-row.js';

/** Label value that the loss ignores (PyTorch's and ONNX's `ignore_index`). */
export const IGNORE_INDEX = -100;

/** A tokenized sequence ready to batch: labels are aligned with ids (the model shifts them). */
export interface TokenSequence {
  inputIds: number[];
  /** Same length as `inputIds`; {@link IGNORE_INDEX} where no loss is taken. */
  labels: number[];
  /** Class id of a sequence-classification example (then `labels` is unused). */
  classLabel?: number;
  /** DPO: the rejected completion of the same prompt (this sequence holds the chosen one). */
  rejected?: TokenSequence;
}

/** Options of {@link prepareSequences}. */
export interface PrepareSequencesOptions {
  tokenizer: Tokenizer;
  /** Longest sequence (at most the model's positions). */
  maxLength: number;
  /**
   * `true`: concatenate all examples (separated by end-of-sequence) and cut into chunks of exactly
   * `maxLength` tokens, no padding. `false`: one example per sequence, padded at batch time.
   */
  packing?: boolean;
  /** What to do with an example longer than `maxLength` when not packing. Default `truncate`. */
  overflow?: 'truncate' | 'reject';
  /** Chat template for `{ messages }` rows. Default {@link simpleChatTemplate}. */
  chatTemplate?: ChatFormatter;
}

/** The outcome of {@link prepareSequences}. */
export interface PreparedSequences {
  sequences: TokenSequence[];
  /** Examples cut to `maxLength` (overflow `truncate`). */
  truncated: number;
  /** Examples dropped for being too long (overflow `reject`), with their row indices. */
  rejected: number[];
  /** Tokens that carry a label, over all sequences. */
  trainedTokens: number;
}

/** The segments of one row (text: all trained; prompt/completion: completion trained; chat: assistant). */
export function rowSegments(
  row: TrainingRow,
  chatTemplate: ChatFormatter = simpleChatTemplate,
): TextSegment[] {
  if ('text' in row) return [{ text: row.text, train: true }];
  if ('prompt' in row) {
    return [
      { text: row.prompt, train: false },
      { text: row.completion, train: true },
    ];
  }
  return chatTemplate(row.messages);
}

/** Tokenizes one row into ids and labels, ending with the end-of-sequence token (trained). */
export function tokenizeRow(
  row: TrainingRow,
  tokenizer: Tokenizer,
  chatTemplate: ChatFormatter = simpleChatTemplate,
): TokenSequence {
  const inputIds: number[] = [];
  const labels: number[] = [];
  const templated = 'messages' in row && chatTemplate.includesEndTokens === true;
  const eos = templated ? undefined : tokenizer.specialTokens.eos;
  const segments = rowSegments(row, chatTemplate);
  segments.forEach((segment, index) => {
    const ids = tokenizer.encode(segment.text);
    for (const id of ids) {
      inputIds.push(id);
      labels.push(segment.train ? id : IGNORE_INDEX);
    }
    // An end-of-sequence token closes every trained turn of a chat, and the whole example.
    const closesTurn = segment.train && 'messages' in row && index < segments.length - 1;
    if (eos !== undefined && closesTurn) {
      inputIds.push(eos);
      labels.push(eos);
    }
  });
  if (eos !== undefined) {
    inputIds.push(eos);
    labels.push(eos);
  }
  return { inputIds, labels };
}

/**
 * Tokenizes rows and shapes them into sequences of at most `maxLength` tokens: packed into full
 * chunks, or one per example with over-long ones truncated (counted) or rejected (listed), never
 * a crash. Rows are validated; an invalid row fails with `VALIDATION_FAILED` naming its index.
 */
export function prepareSequences(
  rows: readonly unknown[],
  options: PrepareSequencesOptions,
): PreparedSequences {
  const { tokenizer, maxLength, packing = false, overflow = 'truncate', chatTemplate } = options;
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw tunekitError('VALIDATION_FAILED', `maxLength must be an integer ≥ 2, got ${maxLength}`);
  }
  const sequences: TokenSequence[] = [];
  const rejected: number[] = [];
  let truncated = 0;
  let trainedTokens = 0;
  const countTrained = (labels: number[]) => {
    for (const label of labels) if (label !== IGNORE_INDEX) trainedTokens += 1;
  };
  let bufferIds: number[] = [];
  let bufferLabels: number[] = [];
  rows.forEach((raw, index) => {
    const row = parseRow(raw, index);
    const tokenized = tokenizeRow(row, tokenizer, chatTemplate);
    if (packing) {
      bufferIds.push(...tokenized.inputIds);
      bufferLabels.push(...tokenized.labels);
      while (bufferIds.length >= maxLength) {
        const sequence = {
          inputIds: bufferIds.slice(0, maxLength),
          labels: bufferLabels.slice(0, maxLength),
        };
        bufferIds = bufferIds.slice(maxLength);
        bufferLabels = bufferLabels.slice(maxLength);
        countTrained(sequence.labels);
        sequences.push(sequence);
      }
      return;
    }
    const tooLong = tokenized.inputIds.length > maxLength;
    if (tooLong && overflow === 'reject') {
      rejected.push(index);
      return;
    }
    if (tooLong) {
      tokenized.inputIds.length = maxLength;
      tokenized.labels.length = maxLength;
    }
    if (tokenized.labels.every((label) => label === IGNORE_INDEX)) {
      // Nothing to learn from (e.g. a prompt that filled the whole window): drop it like a rejection.
      rejected.push(index);
      return;
    }
    if (tooLong) truncated += 1;
    countTrained(tokenized.labels);
    sequences.push(tokenized);
  });
  if (packing && bufferIds.length > 1) {
    countTrained(bufferLabels);
    sequences.push({ inputIds: bufferIds, labels: bufferLabels });
  }
  return { sequences, truncated, rejected, trainedTokens };
}
