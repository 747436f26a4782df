import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createByteLevelTokenizer } from './byte-level-tokenizer.js';
import { loadTokenizer } from './load-tokenizer.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-tokenizer-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A tiny hand-written BPE: whitespace pre-tokenizer, letters h/e/l/o/w/r/d, merges up to "hello". */
const tinyBpe = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [
    {
      id: 0,
      content: '<unk>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    },
    {
      id: 1,
      content: '</s>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    },
  ],
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: '<unk>',
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab: {
      '<unk>': 0,
      '</s>': 1,
      h: 2,
      e: 3,
      l: 4,
      o: 5,
      w: 6,
      r: 7,
      d: 8,
      he: 9,
      ll: 10,
      hell: 11,
      hello: 12,
      wo: 13,
    },
    merges: ['h e', 'l l', 'he ll', 'hell o', 'w o'],
  },
};

describe('loadTokenizer', () => {
  it('loads a hand-written BPE tokenizer.json and applies its merges', async () => {
    const folder = join(directory, 'tiny-bpe');
    await createByteLevelTokenizer().save(folder); // creates the folder, then overwrite the files
    await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tinyBpe));
    await writeFile(
      join(folder, 'tokenizer_config.json'),
      JSON.stringify({ eos_token: '</s>', unk_token: '<unk>' }),
    );
    const tokenizer = await loadTokenizer(folder);
    expect(tokenizer.vocabSize).toBe(14);
    expect(tokenizer.specialTokens.eos).toBe(1);
    expect(tokenizer.specialTokens.pad).toBe(1);
    expect(tokenizer.encode('hello world')).toEqual([12, 13, 7, 4, 8]);
    expect(tokenizer.encode('hex')).toEqual([9, 0]);
    expect(tokenizer.tokenToId('hell')).toBe(11);
  });

  it('reads back the byte-level tokenizer it saved, with identical ids', async () => {
    const byteLevel = createByteLevelTokenizer({
      specialTokens: ['<|endoftext|>', '<|pad|>'],
      padToken: '<|pad|>',
    });
    const folder = join(directory, 'byte-level');
    await byteLevel.save(folder);
    const loaded = await loadTokenizer(folder);
    const text = 'Call me Ishmael. Ünïcødé ✓ 🐋\n\ttabs';
    expect(loaded.encode(text)).toEqual(byteLevel.encode(text));
    expect(loaded.decode(byteLevel.encode(text))).toBe(text);
    expect(loaded.vocabSize).toBe(258);
    expect(loaded.specialTokens).toMatchObject({ eos: 256, pad: 257 });
  });

  it('refuses added tokens with single_word (Hugging Face matches them only between word boundaries; the JS library anywhere)', async () => {
    const folder = join(directory, 'single-word');
    await mkdir(folder, { recursive: true });
    const added = {
      id: 7,
      content: 'hello',
      single_word: true,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: false,
    };
    await writeFile(
      join(folder, 'tokenizer.json'),
      JSON.stringify({ ...tinyBpe, added_tokens: [...tinyBpe.added_tokens, added] }),
    );
    await expect(loadTokenizer(folder)).rejects.toMatchObject({
      code: 'TOKENIZER_UNSUPPORTED',
      details: { field: 'added_tokens.single_word', tokens: ['hello'] },
    });
  });

  it('fails with a coded error when the folder has no tokenizer.json', async () => {
    const error = await loadTokenizer(join(directory, 'missing')).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('TOKENIZER_NOT_FOUND');
  });
});

describe('createByteLevelTokenizer', () => {
  it('round-trips any text and recognises special tokens', () => {
    const tokenizer = createByteLevelTokenizer({
      specialTokens: ['<|endoftext|>', '<|bos|>'],
      bosToken: '<|bos|>',
    });
    const ids = tokenizer.encode('a<|endoftext|>é', { addSpecialTokens: true });
    expect(ids).toEqual([257, 97, 256, 0xc3, 0xa9]);
    expect(tokenizer.decode(ids)).toBe('aé');
    expect(tokenizer.decode(ids, { skipSpecialTokens: false })).toBe('<|bos|>a<|endoftext|>é');
    expect(tokenizer.vocabSize).toBe(258);
    expect(tokenizer.tokenToId('a')).toBe(97);
    expect(tokenizer.tokenToId('nope')).toBeUndefined();
  });
});
