import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DecodeOptions, EncodeOptions, SpecialTokenIds, Tokenizer } from './tokenizer.js';

/** Options of {@link createByteLevelTokenizer}. */
export interface ByteLevelTokenizerOptions {
  /**
   * Special tokens after the 256 byte ids, in id order (id 256, 257 …). The first one is the
   * end-of-sequence (and padding) token unless `eosToken` names another. Default `['<|endoftext|>']`.
   */
  specialTokens?: string[];
  /** Which special token ends a sequence. Default: the first. */
  eosToken?: string;
  /** Which special token pads. Default: the end-of-sequence token. */
  padToken?: string;
  /** Which special token starts a sequence (added by `encode(text, { addSpecialTokens: true })`). */
  bosToken?: string;
}

/**
 * GPT-2's reversible map from bytes to printable characters (`bytes_to_unicode` in its
 * `encoder.py`), used so that the saved `tokenizer.json` is a standard byte-level BPE file.
 */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let code = 33; code <= 126; code++) printable.push(code);
  for (let code = 161; code <= 172; code++) printable.push(code);
  for (let code = 174; code <= 255; code++) printable.push(code);
  const characters = new Array<string>(256);
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (printable.includes(byte)) {
      characters[byte] = String.fromCharCode(byte);
    } else {
      characters[byte] = String.fromCharCode(256 + extra);
      extra += 1;
    }
  }
  return characters;
}

/**
 * A tokenizer whose ids are the UTF-8 bytes of the text (0–255) followed by special tokens: no
 * training needed, every text encodes, for models Tunekit creates from scratch. `save` writes an
 * equivalent Hugging Face byte-level BPE `tokenizer.json` (no merges, id = byte value).
 */
export function createByteLevelTokenizer(options: ByteLevelTokenizerOptions = {}): Tokenizer {
  const specials = options.specialTokens ?? ['<|endoftext|>'];
  const specialIds = new Map(specials.map((token, index) => [token, 256 + index]));
  const idOf = (token: string | undefined) => (token === undefined ? undefined : specialIds.get(token));
  const eos = idOf(options.eosToken ?? specials[0]);
  const specialTokens: SpecialTokenIds = {
    eos,
    pad: idOf(options.padToken) ?? eos,
    bos: idOf(options.bosToken),
  };
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const splitter =
    specials.length === 0
      ? undefined
      : new RegExp(`(${specials.map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);

  const encode = (text: string, encodeOptions: EncodeOptions = {}): number[] => {
    const ids: number[] = [];
    if (encodeOptions.addSpecialTokens && specialTokens.bos !== undefined) ids.push(specialTokens.bos);
    const parts = splitter ? text.split(splitter) : [text];
    for (const part of parts) {
      const special = specialIds.get(part);
      if (special !== undefined) {
        ids.push(special);
      } else if (part.length > 0) {
        for (const byte of encoder.encode(part)) ids.push(byte);
      }
    }
    return ids;
  };

  const decode = (ids: readonly number[], decodeOptions: DecodeOptions = {}): string => {
    const skip = decodeOptions.skipSpecialTokens ?? true;
    let text = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) text += decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (id >= 0 && id < 256) {
        bytes.push(id);
      } else {
        flush();
        const token = specials[id - 256];
        if (token !== undefined && !skip) text += token;
      }
    }
    flush();
    return text;
  };

  const save = async (directory: string): Promise<void> => {
    const characters = bytesToUnicode();
    const vocab: Record<string, number> = {};
    characters.forEach((character, byte) => {
      vocab[character] = byte;
    });
    specials.forEach((token, index) => {
      vocab[token] = 256 + index;
    });
    const tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: specials.map((token, index) => ({
        id: 256 + index,
        content: token,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges: [],
      },
    };
    const name = (id: number | undefined) => (id === undefined ? null : specials[id - 256]);
    const config = {
      tokenizer_class: 'GPT2Tokenizer',
      model_max_length: 1_000_000,
      eos_token: name(specialTokens.eos),
      bos_token: name(specialTokens.bos),
      pad_token: name(specialTokens.pad),
      unk_token: null,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      tunekit_tokenizer: 'byte-level',
    };
    await mkdir(directory, { recursive: true });
    await writeFile(join(directory, 'tokenizer.json'), JSON.stringify(tokenizerJson));
    await writeFile(join(directory, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
  };

  return {
    name: 'byte-level',
    vocabSize: 256 + specials.length,
    specialTokens,
    encode,
    decode,
    tokenToId: (token) => {
      const byte = bytesToUnicode().indexOf(token);
      return specialIds.get(token) ?? (byte >= 0 ? byte : undefined);
    },
    save,
  };
}
