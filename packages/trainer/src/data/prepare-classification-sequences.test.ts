import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../tokenizers/load-tokenizer.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { writeWordPieceTokenizer } from '../tokenizers/write-word-piece-tokenizer.js';
import { collateBatch } from './collate-batch.js';
import { prepareClassificationSequences } from './prepare-classification-sequences.js';

let directory: string;
let tokenizer: Tokenizer;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-classification-'));
  await writeWordPieceTokenizer(directory, ['Free money now!', 'free lunch', 'Money talks'], {
    vocabSize: 100,
  });
  tokenizer = await loadTokenizer(directory);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('writeWordPieceTokenizer', () => {
  it('writes a BERT tokenizer: lower-cased words, ## pieces for unseen words, [CLS] … [SEP], [PAD] as padding', () => {
    const id = (token: string) => tokenizer.tokenToId(token) as number;
    // Special tokens first, then characters and ## characters, then words by frequency.
    expect([id('[PAD]'), id('[UNK]'), id('[CLS]'), id('[SEP]'), id('[MASK]')]).toEqual([0, 1, 2, 3, 4]);
    expect(tokenizer.specialTokens.pad).toBe(0);
    expect(tokenizer.encode('FREE money!', { addSpecialTokens: true })).toEqual([
      id('[CLS]'),
      id('free'),
      id('money'),
      id('!'),
      id('[SEP]'),
    ]);
    expect(tokenizer.encode('mow')).toEqual([id('m'), id('##o'), id('##w')]);
    expect(tokenizer.decode(tokenizer.encode('free money'))).toBe('free money');
  });
});

describe('prepareClassificationSequences', () => {
  const label2id = { ham: 0, spam: 1 };

  it('maps label names and ids, adds special tokens and batches [batch] class labels', () => {
    const { sequences, truncated } = prepareClassificationSequences(
      [
        { text: 'free money', label: 'spam' },
        { text: 'lunch', label: 0 },
      ],
      { tokenizer, maxLength: 16, label2id },
    );
    expect(truncated).toBe(0);
    expect(sequences.map((sequence) => sequence.classLabel)).toEqual([1, 0]);
    expect(sequences[0]?.inputIds[0]).toBe(tokenizer.tokenToId('[CLS]'));
    const batch = collateBatch(sequences, 0);
    expect(Array.from(batch.classLabels ?? [])).toEqual([1n, 0n]);
    expect(batch.trainedTokens).toBe(2);
    expect(Array.from(batch.attentionMask.slice(batch.length, 2 * batch.length))).toEqual([1n, 1n, 1n, 0n]);
  });

  it('truncates keeping the closing [SEP]', () => {
    const { sequences, truncated } = prepareClassificationSequences(
      [{ text: 'free money now free lunch money talks', label: 'ham' }],
      { tokenizer, maxLength: 4, label2id },
    );
    expect(truncated).toBe(1);
    expect(sequences[0]?.inputIds).toHaveLength(4);
    expect(sequences[0]?.inputIds.at(-1)).toBe(tokenizer.tokenToId('[SEP]'));
  });

  it('rejects unknown labels and rows without a label, naming the row', () => {
    expect(() =>
      prepareClassificationSequences(
        [
          { text: 'a', label: 'ham' },
          { text: 'b', label: 'eggs' },
        ],
        {
          tokenizer,
          maxLength: 8,
          label2id,
        },
      ),
    ).toThrow(/Row 1: unknown label "eggs" \(labels: ham, spam\)/);
    expect(() =>
      prepareClassificationSequences([{ text: 'a', label: 2 }], { tokenizer, maxLength: 8, label2id }),
    ).toThrow(/Row 0: unknown label 2/);
    expect(() =>
      prepareClassificationSequences([{ text: 'a' }], { tokenizer, maxLength: 8, label2id }),
    ).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/Row 0 is not a classification row/),
      }),
    );
  });
});
