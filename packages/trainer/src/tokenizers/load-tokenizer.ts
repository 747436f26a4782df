import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tunekitError } from '@tunekit/core';
import type { DecodeOptions, EncodeOptions, SpecialTokenIds, Tokenizer } from './tokenizer.js';

type TokenConfigValue = string | { content?: string } | null | undefined;

const tokenContent = (value: TokenConfigValue): string | undefined =>
  typeof value === 'string' ? value : (value?.content ?? undefined);

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw tunekitError('TOKENIZER_INVALID', `Cannot read ${path}: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
}

/**
 * Loads a Hugging Face tokenizer from a local folder holding `tokenizer.json` (and optionally
 * `tokenizer_config.json` for the special tokens and the Jinja `chat_template`), through
 * `@huggingface/tokenizers`. Never touches the network.
 */
export async function loadTokenizer(directory: string): Promise<Tokenizer> {
  const folder = resolve(directory);
  const tokenizerPath = join(folder, 'tokenizer.json');
  const tokenizerJson = await readJson(tokenizerPath);
  if (!tokenizerJson) {
    throw tunekitError('TOKENIZER_NOT_FOUND', `No tokenizer.json in ${folder}`, { directory: folder });
  }
  // @huggingface/tokenizers matches added tokens anywhere; Hugging Face's own library matches a
  // single_word token only between word boundaries ("zebra" not inside "zebras"): refuse rather
  // than give other ids.
  const singleWord = (
    (tokenizerJson.added_tokens ?? []) as Array<{ content?: string; single_word?: boolean }>
  )
    .filter((token) => token.single_word === true)
    .map((token) => token.content);
  if (singleWord.length > 0) {
    throw tunekitError(
      'TOKENIZER_UNSUPPORTED',
      `${tokenizerPath}: added token(s) ${singleWord.map((content) => JSON.stringify(content)).join(', ')} set single_word, which Tunekit's tokenizer does not implement (they would also match inside words and give other ids than Hugging Face tokenizers)`,
      { field: 'added_tokens.single_word', tokens: singleWord },
    );
  }
  const config = (await readJson(join(folder, 'tokenizer_config.json'))) ?? {};
  const { Tokenizer: HuggingFaceTokenizer } = await import('@huggingface/tokenizers');
  let tokenizer: InstanceType<typeof HuggingFaceTokenizer>;
  try {
    tokenizer = new HuggingFaceTokenizer(tokenizerJson, config);
  } catch (error) {
    throw tunekitError(
      'TOKENIZER_INVALID',
      `Invalid tokenizer.json in ${folder}: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
  const vocabulary = tokenizer.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocabulary.values()) vocabSize = Math.max(vocabSize, id + 1);
  const idOfConfig = (key: string) => {
    const content = tokenContent(config[key] as TokenConfigValue);
    return content === undefined ? undefined : tokenizer.token_to_id(content);
  };
  const fallbackEos = ['<|endoftext|>', '</s>', '<eos>', '<|im_end|>']
    .map((token) => tokenizer.token_to_id(token))
    .find((id) => id !== undefined);
  const eos = idOfConfig('eos_token') ?? fallbackEos;
  const specialTokens: SpecialTokenIds = {
    eos,
    bos: idOfConfig('bos_token'),
    pad: idOfConfig('pad_token') ?? eos,
    unk: idOfConfig('unk_token'),
  };
  const specialTokenTexts = Object.fromEntries(
    (['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const)
      .map((key) => [key, tokenContent(config[key] as TokenConfigValue)])
      .filter(([, content]) => content !== undefined),
  );
  const rawTemplate = config.chat_template as
    | string
    | Array<{ name?: string; template?: string }>
    | undefined;
  const template = Array.isArray(rawTemplate)
    ? (rawTemplate.find((entry) => entry.name === 'default') ?? rawTemplate[0])?.template
    : rawTemplate;
  const side = (value: unknown): 'left' | 'right' => (value === 'left' ? 'left' : 'right');
  const paddingJson = tokenizerJson.padding as { direction?: string } | null | undefined;
  const paddingSide = side(config.padding_side ?? (paddingJson?.direction === 'Left' ? 'left' : 'right'));
  const truncationSide = side(config.truncation_side);
  // Hugging Face writes a huge sentinel (1e30) when a tokenizer has no limit.
  const modelMaxLength =
    typeof config.model_max_length === 'number' && config.model_max_length < 1e9
      ? config.model_max_length
      : undefined;
  return {
    name: `hf:${folder}`,
    chatTemplate: typeof template === 'string' ? { template, specialTokens: specialTokenTexts } : undefined,
    vocabSize,
    specialTokens,
    paddingSide,
    truncationSide,
    modelMaxLength,
    encode: (text: string, options: EncodeOptions = {}) => {
      const ids = tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
      const limit = options.maxLength;
      if (limit === undefined || ids.length <= limit) return ids;
      return truncationSide === 'left' ? ids.slice(ids.length - limit) : ids.slice(0, limit);
    },
    decode: (ids: readonly number[], options: DecodeOptions = {}) =>
      tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true }),
    tokenToId: (token: string) => tokenizer.token_to_id(token),
    save: async (target: string) => {
      await mkdir(target, { recursive: true });
      if (resolve(target) === folder) return;
      for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
        const exists = await stat(join(folder, file)).then(
          () => true,
          () => false,
        );
        if (exists) await copyFile(join(folder, file), join(target, file));
      }
    },
  };
}
