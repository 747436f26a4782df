import { TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createByteLevelTokenizer } from '../tokenizers/byte-level-tokenizer.js';
import { collateBatch } from './collate-batch.js';
import { preparePreferencePairs } from './prepare-preference-pairs.js';
import { IGNORE_INDEX } from './prepare-sequences.js';

const tokenizer = createByteLevelTokenizer();

describe('preparePreferencePairs', () => {
  it('labels only the completions and attaches the rejected sequence', () => {
    const { pairs, truncated, rejected } = preparePreferencePairs(
      [{ prompt: 'ab', chosen: 'cd', rejected: 'xyz' }],
      { tokenizer, maxLength: 16 },
    );
    expect(truncated).toBe(0);
    expect(rejected).toEqual([]);
    const [pair] = pairs;
    const eos = tokenizer.specialTokens.eos as number;
    expect(pair?.inputIds).toEqual([...tokenizer.encode('abcd'), eos]);
    expect(pair?.labels).toEqual([IGNORE_INDEX, IGNORE_INDEX, ...tokenizer.encode('cd'), eos]);
    expect(pair?.rejected?.labels).toEqual([IGNORE_INDEX, IGNORE_INDEX, ...tokenizer.encode('xyz'), eos]);
  });

  it('truncates (counted), rejects when asked, and drops a pair whose completion is cut away', () => {
    const rows = [
      { prompt: 'abc', chosen: 'defgh', rejected: 'ij' },
      { prompt: 'abcdefgh', chosen: 'x', rejected: 'y' },
    ];
    const truncated = preparePreferencePairs(rows, { tokenizer, maxLength: 6 });
    expect(truncated.truncated).toBe(1);
    expect(truncated.pairs[0]?.inputIds).toHaveLength(6);
    expect(truncated.rejected).toEqual([1]);
    const strict = preparePreferencePairs(rows, { tokenizer, maxLength: 6, overflow: 'reject' });
    expect(strict.pairs).toHaveLength(0);
    expect(strict.rejected).toEqual([0, 1]);
  });

  it('names the row that is not a preference row (VALIDATION_FAILED)', () => {
    const error = (() => {
      try {
        preparePreferencePairs(
          [
            { prompt: 'a', chosen: 'b', rejected: 'c' },
            { prompt: 'a', completion: 'b' },
          ],
          {
            tokenizer,
            maxLength: 8,
          },
        );
      } catch (caught) {
        return caught;
      }
    })();
    expect(TunekitError.isInstance(error) && error.code).toBe('VALIDATION_FAILED');
    expect((error as Error).message).toMatch(/Row 1/);
  });

  it('collates pairs as the chosen rows followed by their rejected rows', () => {
    const { pairs } = preparePreferencePairs(
      [
        { prompt: 'a', chosen: 'bb', rejected: 'c' },
        { prompt: 'd', chosen: 'e', rejected: 'ffff' },
      ],
      { tokenizer, maxLength: 16 },
    );
    const batch = collateBatch(pairs, 0);
    expect(batch.batchSize).toBe(4);
    expect(batch.pairs).toBe(2);
    const row = (index: number) =>
      Array.from(batch.inputIds.slice(index * batch.length, (index + 1) * batch.length), Number).filter(
        (_, at) => batch.attentionMask[index * batch.length + at] === 1n,
      );
    expect(row(0)).toEqual(pairs[0]?.inputIds);
    expect(row(1)).toEqual(pairs[1]?.inputIds);
    expect(row(2)).toEqual(pairs[0]?.rejected?.inputIds);
    expect(row(3)).toEqual(pairs[1]?.rejected?.inputIds);
  });
});
