import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from './load-tokenizer.js';

// Real tokenizer.json files of the three model kinds, written by hand in the test (the layouts
// Hugging Face `tokenizers` saves for Llama/SentencePiece-BPE, BERT and T5/XLM-R-style Unigram).
let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-hf-tokenizers-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

async function writeTokenizer(name: string, tokenizer: unknown, config: Record<string, unknown>) {
  const folder = join(directory, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(config));
  return folder;
}

/** Llama-style BPE: SentencePiece metaspace normalizer, byte fallback `<0xNN>`, `<s>` prepended. */
function byteFallbackBpe() {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let byte = 0; byte < 256; byte += 1) {
    vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + byte;
  }
  Object.assign(vocab, { '▁': 259, h: 260, i: 261, '▁h': 262, '▁hi': 263 });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ['▁ h', '▁h i'],
    },
  };
}

/** BERT WordPiece: lower-casing BertNormalizer, `##` continuation, `[CLS] … [SEP]`. */
function wordPiece() {
  const vocab = {
    '[PAD]': 0,
    '[UNK]': 1,
    '[CLS]': 2,
    '[SEP]': 3,
    '[MASK]': 4,
    spam: 5,
    free: 6,
    money: 7,
    '!': 8,
    win: 9,
    '##ner': 10,
    '##s': 11,
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      special(0, '[PAD]'),
      special(1, '[UNK]'),
      special(2, '[CLS]'),
      special(3, '[SEP]'),
      special(4, '[MASK]'),
    ],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** SentencePiece Unigram: metaspace pre-tokenizer, scored pieces, best segmentation by Viterbi. */
function unigram() {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '</s>'), special(2, '<pad>')],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always' },
    model: {
      type: 'Unigram',
      unk_id: 0,
      byte_fallback: false,
      vocab: [
        ['<unk>', 0],
        ['</s>', 0],
        ['<pad>', 0],
        ['▁', -2],
        ['▁the', -1],
        ['▁cat', -1.5],
        ['c', -3],
        ['a', -3],
        ['t', -3],
        ['s', -3],
        ['▁ca', -2.5],
        ['ts', -2.8],
        ['h', -3],
        ['e', -3],
      ],
    },
  };
}

describe('Hugging Face tokenizer.json models from a local folder', () => {
  it('BPE with byte fallback: unknown characters become <0xNN> bytes and decode back; <s> on request', async () => {
    const folder = await writeTokenizer('bpe', byteFallbackBpe(), {
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      padding_side: 'left',
      model_max_length: 4096,
      chat_template: [{ name: 'default', template: '{{ bos_token }}{{ messages[0].content }}' }],
    });
    const tokenizer = await loadTokenizer(folder);
    expect(tokenizer.specialTokens).toEqual({ bos: 1, eos: 2, pad: 2, unk: 0 });
    expect(tokenizer.paddingSide).toBe('left');
    expect(tokenizer.modelMaxLength).toBe(4096);
    expect(tokenizer.chatTemplate).toEqual({
      template: '{{ bos_token }}{{ messages[0].content }}',
      specialTokens: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' },
    });
    // "hi é" → ▁hi ▁ <0xC3> <0xA9> (é is two UTF-8 bytes, not in the vocabulary).
    expect(tokenizer.encode('hi é')).toEqual([263, 259, 3 + 0xc3, 3 + 0xa9]);
    expect(tokenizer.encode('hi é', { addSpecialTokens: true })).toEqual([1, 263, 259, 198, 172]);
    expect(tokenizer.decode([1, 263, 259, 198, 172])).toBe('hi é');
    expect(tokenizer.decode([1, 263], { skipSpecialTokens: false })).toBe('<s> hi');
    expect(tokenizer.encode('hi é', { addSpecialTokens: true, maxLength: 3 })).toEqual([1, 263, 259]);
  });

  it('WordPiece (BERT): lower-casing, ## pieces, [CLS]/[SEP], [UNK], truncation side', async () => {
    const folder = await writeTokenizer('wordpiece', wordPiece(), {
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      truncation_side: 'left',
      model_max_length: 1e30,
    });
    const tokenizer = await loadTokenizer(folder);
    expect(tokenizer.specialTokens).toMatchObject({ pad: 0, unk: 1 });
    expect(tokenizer.paddingSide).toBe('right');
    expect(tokenizer.modelMaxLength).toBeUndefined();
    const ids = tokenizer.encode('FREE Money! Winners', { addSpecialTokens: true });
    expect(ids).toEqual([2, 6, 7, 8, 9, 10, 11, 3]);
    expect(tokenizer.encode('free cash')).toEqual([6, 1]);
    expect(tokenizer.decode(ids)).toBe('free money! winners');
    expect(tokenizer.encode('FREE Money! Winners', { addSpecialTokens: true, maxLength: 3 })).toEqual([
      10, 11, 3,
    ]);
  });

  it('Unigram: the highest-scoring segmentation, </s> appended with special tokens, decode', async () => {
    const folder = await writeTokenizer('unigram', unigram(), {
      eos_token: '</s>',
      pad_token: '<pad>',
      unk_token: '<unk>',
    });
    const tokenizer = await loadTokenizer(folder);
    expect(tokenizer.specialTokens).toMatchObject({ eos: 1, pad: 2, unk: 0 });
    // ▁cats: ▁cat+s (−4.5) beats ▁ca+ts (−5.3).
    expect(tokenizer.encode('the cats')).toEqual([4, 5, 9]);
    expect(tokenizer.encode('the cats', { addSpecialTokens: true })).toEqual([4, 5, 9, 1]);
    expect(tokenizer.decode([4, 5, 9, 1])).toBe('the cats');
  });
});
