import { TunekitError } from '@tunekit/core';
import { SeededRandom } from '@tunekit/core/statistics';
import { describe, expect, it } from 'vitest';
import { createByteLevelTokenizer } from '../tokenizers/byte-level-tokenizer.js';
import { BatchSampler } from './batch-sampler.js';
import { collateBatch } from './collate-batch.js';
import { IGNORE_INDEX, prepareSequences, tokenizeRow } from './prepare-sequences.js';

const tokenizer = createByteLevelTokenizer();
const EOS = 256;

describe('tokenizeRow', () => {
  it('takes the loss on the completion only', () => {
    const sequence = tokenizeRow({ prompt: 'Q:', completion: 'A' }, tokenizer);
    expect(sequence.inputIds).toEqual([81, 58, 65, EOS]);
    expect(sequence.labels).toEqual([IGNORE_INDEX, IGNORE_INDEX, 65, EOS]);
  });

  it('takes the loss on assistant turns of a chat, each closed by end-of-sequence', () => {
    const sequence = tokenizeRow(
      {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'yo' },
          { role: 'user', content: 'again' },
          { role: 'assistant', content: 'ok' },
        ],
      },
      tokenizer,
    );
    const trained = sequence.inputIds.filter((_, index) => sequence.labels[index] !== IGNORE_INDEX);
    expect(tokenizer.decode(trained, { skipSpecialTokens: false })).toBe('yo<|endoftext|>ok<|endoftext|>');
    expect(tokenizer.decode(sequence.inputIds)).toContain('### User:\nhi\n\n### Assistant:\nyo');
  });
});

describe('prepareSequences', () => {
  const rows = [{ text: 'abcdefghij' }, { text: 'xy' }, { prompt: 'long prompt here', completion: 'z' }];

  it('truncates over-long examples and counts them', () => {
    const prepared = prepareSequences(rows, { tokenizer, maxLength: 8 });
    expect(prepared.truncated).toBe(1);
    expect(prepared.sequences[0]?.inputIds).toHaveLength(8);
    // the third row's completion is cut off entirely: nothing to learn, so it is dropped
    expect(prepared.rejected).toEqual([2]);
    expect(prepared.sequences).toHaveLength(2);
  });

  it('rejects over-long examples when asked, without failing', () => {
    const prepared = prepareSequences(rows, { tokenizer, maxLength: 8, overflow: 'reject' });
    expect(prepared.rejected).toEqual([0, 2]);
    expect(prepared.sequences.map((sequence) => tokenizer.decode(sequence.inputIds))).toEqual(['xy']);
  });

  it('packs examples into full chunks separated by end-of-sequence', () => {
    const prepared = prepareSequences(rows, { tokenizer, maxLength: 8, packing: true });
    const flat = prepared.sequences.flatMap((sequence) => sequence.inputIds);
    expect(prepared.sequences.slice(0, -1).every((sequence) => sequence.inputIds.length === 8)).toBe(true);
    expect(tokenizer.decode(flat, { skipSpecialTokens: false })).toBe(
      'abcdefghij<|endoftext|>xy<|endoftext|>long prompt herez<|endoftext|>',
    );
  });

  it('names the index of an invalid row', () => {
    const error = (() => {
      try {
        prepareSequences([{ text: 'ok' }, { nope: 1 }], { tokenizer, maxLength: 8 });
      } catch (caught) {
        return caught;
      }
    })();
    expect(TunekitError.isInstance(error) && error.code).toBe('VALIDATION_FAILED');
    expect((error as Error).message).toContain('Row 1');
  });
});

describe('batching', () => {
  it('pads to the longest sequence with attention 0 and ignored labels', () => {
    const batch = collateBatch(
      [
        { inputIds: [1, 2, 3], labels: [1, 2, 3] },
        { inputIds: [4], labels: [4] },
      ],
      EOS,
    );
    expect(batch.length).toBe(3);
    expect([...batch.inputIds]).toEqual([1n, 2n, 3n, 4n, 256n, 256n]);
    expect([...batch.attentionMask]).toEqual([1n, 1n, 1n, 1n, 0n, 0n]);
    expect([...batch.labels]).toEqual([1n, 2n, 3n, 4n, -100n, -100n]);
    expect(batch.trainedTokens).toBe(2);
  });

  it('shuffles deterministically per seed and epoch, covering every index once', () => {
    const sampler = new BatchSampler(10, 3, 42);
    const epoch0 = [0, 1, 2, 3].flatMap((batch) => sampler.batch({ epoch: 0, batch }));
    expect([...epoch0].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new BatchSampler(10, 3, 42).batch({ epoch: 0, batch: 2 })).toEqual(
      sampler.batch({ epoch: 0, batch: 2 }),
    );
    expect(sampler.batch({ epoch: 1, batch: 0 })).not.toEqual(sampler.batch({ epoch: 0, batch: 0 }));
    expect(sampler.next({ epoch: 0, batch: 3 })).toEqual({ epoch: 1, batch: 0 });
  });

  it('restores a random sequence from its state', () => {
    const random = new SeededRandom(7);
    random.next();
    const saved = random.state;
    const expected = [random.next(), random.next()];
    const restored = new SeededRandom(0);
    restored.state = saved;
    expect([restored.next(), restored.next()]).toEqual(expected);
  });
});
