import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tunekitError } from '@tunekit/core';

/** Options of {@link writeWordPieceTokenizer}. */
export interface WordPieceTokenizerOptions {
  /** Largest vocabulary (special tokens and single characters included). Default 8000. */
  vocabSize?: number;
  /** Lower-case and strip accents like `bert-base-uncased`. Default true. */
  lowercase?: boolean;
  /** Longest sequence the tokenizer config announces (`model_max_length`). Default 512. */
  modelMaxLength?: number;
}

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** BertPreTokenizer's split: runs of letters/digits, and every punctuation character alone. */
function preTokenize(text: string): string[] {
  return text.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

/**
 * Builds a BERT WordPiece tokenizer from texts and writes it in Hugging Face's layout
 * (`tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`), so `loadTokenizer`,
 * transformers and transformers.js all read it. The vocabulary is the special tokens, every character
 * seen (alone and as a `##` continuation), then the most frequent words: a word-level WordPiece vocabulary,
 * enough for a model created from scratch (no subword merges are learned). Returns the vocabulary size.
 */
export async function writeWordPieceTokenizer(
  directory: string,
  texts: Iterable<string>,
  options: WordPieceTokenizerOptions = {},
): Promise<number> {
  const vocabSize = options.vocabSize ?? 8000;
  const lowercase = options.lowercase ?? true;
  const counts = new Map<string, number>();
  const characters = new Set<string>();
  for (const raw of texts) {
    const text = lowercase
      ? raw
          .normalize('NFD')
          .replace(/\p{Mn}/gu, '')
          .toLowerCase()
      : raw;
    for (const word of preTokenize(text)) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
      for (const character of word) characters.add(character);
    }
  }
  const vocabulary: string[] = [...SPECIAL_TOKENS];
  const sortedCharacters = [...characters].sort();
  vocabulary.push(...sortedCharacters, ...sortedCharacters.map((character) => `##${character}`));
  if (vocabulary.length > vocabSize) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `vocabSize ${vocabSize} is below the ${vocabulary.length} special tokens and characters of the texts`,
    );
  }
  const seen = new Set(vocabulary);
  const words = [...counts]
    .filter(([word]) => !seen.has(word))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [word] of words) {
    if (vocabulary.length >= vocabSize) break;
    vocabulary.push(word);
  }
  const vocab = Object.fromEntries(vocabulary.map((token, id) => [token, id]));
  const special = (content: string) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase,
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
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
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
  const specialTokens = {
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
  };
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(
    join(directory, 'tokenizer_config.json'),
    `${JSON.stringify(
      {
        tokenizer_class: 'BertTokenizer',
        do_lower_case: lowercase,
        model_max_length: options.modelMaxLength ?? 512,
        padding_side: 'right',
        ...specialTokens,
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(join(directory, 'special_tokens_map.json'), `${JSON.stringify(specialTokens, null, 2)}\n`);
  return vocabulary.length;
}
