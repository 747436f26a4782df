import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from './load-tokenizer.js';

// tokenizer.json files with the structure the Hub ships (small vocabularies trained on a toy corpus)
// and the ids Hugging Face's Rust `tokenizers` gives: written by tests/golden/tokenizer_references.py.
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface References {
  tokenizers: string;
  cases: Array<{
    text: string;
    ids: number[];
    idsWithoutSpecialTokens: number[];
    decoded: string;
    /** Only in the added-token fixtures: `decode(ids, skip_special_tokens=True)`. */
    decodedSkippingSpecialTokens?: string;
  }>;
}

const NAMES = [
  'gpt2-merges-pairs',
  'gpt2-merges-strings',
  'llama3',
  'qwen2',
  'llama2-byte-fallback',
  't5-unigram',
  'bert-wordpiece',
  'llama3-added-tokens',
  'bert-cased-added-tokens',
];

describe.each(NAMES)('%s tokenizer.json against Hugging Face tokenizers', (name) => {
  it('gives the reference ids with and without special tokens, and decodes like it', async () => {
    const folder = join(fixtures, name);
    const references = JSON.parse(await readFile(join(folder, 'references.json'), 'utf8')) as References;
    const tokenizer = await loadTokenizer(folder);
    for (const reference of references.cases) {
      expect(tokenizer.encode(reference.text, { addSpecialTokens: true }), reference.text).toEqual(
        reference.ids,
      );
      expect(tokenizer.encode(reference.text, { addSpecialTokens: false }), reference.text).toEqual(
        reference.idsWithoutSpecialTokens,
      );
      expect(
        tokenizer.decode(reference.idsWithoutSpecialTokens, { skipSpecialTokens: false }),
        reference.text,
      ).toEqual(reference.decoded);
      if (reference.decodedSkippingSpecialTokens !== undefined) {
        expect(tokenizer.decode(reference.ids, { skipSpecialTokens: true }), reference.text).toEqual(
          reference.decodedSkippingSpecialTokens,
        );
      }
    }
  });
});

describe('tokenizer_config.json special tokens and chat templates', () => {
  it('reads bos/eos/pad by name from tokenizer_config.json and the ChatML template (Qwen2)', async () => {
    const qwen2 = await loadTokenizer(join(fixtures, 'qwen2'));
    expect(qwen2.specialTokens.eos).toBe(qwen2.tokenToId('<|im_end|>'));
    expect(qwen2.specialTokens.pad).toBe(qwen2.tokenToId('<|endoftext|>'));
    expect(qwen2.specialTokens.bos).toBeUndefined();
    expect(qwen2.chatTemplate?.template).toContain('<|im_start|>');
    const llama3 = await loadTokenizer(join(fixtures, 'llama3'));
    expect(llama3.specialTokens.bos).toBe(llama3.tokenToId('<|begin_of_text|>'));
    expect(llama3.specialTokens.eos).toBe(llama3.tokenToId('<|end_of_text|>'));
    const bert = await loadTokenizer(join(fixtures, 'bert-wordpiece'));
    expect(bert.specialTokens.pad).toBe(bert.tokenToId('[PAD]'));
    expect(bert.specialTokens.unk).toBe(bert.tokenToId('[UNK]'));
  });
});
