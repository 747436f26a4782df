/** Ids of a tokenizer's special tokens (absent when the tokenizer has none of that role). */
export interface SpecialTokenIds {
  /** Beginning of sequence. */
  bos?: number;
  /** End of sequence: generation stops on it, packing separates documents with it. */
  eos?: number;
  /** Padding (falls back to `eos` in the data pipeline when absent). */
  pad?: number;
  /** Unknown token. */
  unk?: number;
}

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the tokenizer's configured special tokens (e.g. BOS) around the text. Default false. */
  addSpecialTokens?: boolean;
  /** Truncate to at most this many ids (special tokens included), on the tokenizer's truncation side. */
  maxLength?: number;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens from the text. Default true. */
  skipSpecialTokens?: boolean;
}

/**
 * The tokenizer contract the trainer, data pipeline and generation use: Hugging Face
 * `tokenizer.json` files and the built-in byte-level tokenizer both implement it.
 */
export interface Tokenizer {
  /** A short name for logs (`byte-level`, `hf:<folder>`). */
  readonly name: string;
  /** Number of ids (the model's vocabulary must be at least this large). */
  readonly vocabSize: number;
  /** Ids of the special tokens. */
  readonly specialTokens: SpecialTokenIds;
  /**
   * The Jinja `chat_template` of `tokenizer_config.json` with the special-token strings it reads,
   * when the folder has one (see `createJinjaChatFormatter`).
   */
  readonly chatTemplate?: {
    template: string;
    specialTokens: Partial<Record<'bos_token' | 'eos_token' | 'pad_token' | 'unk_token', string>>;
  };
  /**
   * `padding_side` of `tokenizer_config.json` (default right), for callers that batch prompts. Training batches are
   * always padded on the right whatever this says: the training graphs number positions from 0 in
   * every row, as Hugging Face does when it trains without explicit `position_ids`, so left padding
   * would shift every real token's position.
   */
  readonly paddingSide?: 'left' | 'right';
  /** Side `maxLength` truncation cuts (`truncation_side`; default right). */
  readonly truncationSide?: 'left' | 'right';
  /** `model_max_length` of `tokenizer_config.json`, when it is a real limit. */
  readonly modelMaxLength?: number;
  /** Text to ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids to text. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The id of a token string, when it is in the vocabulary. */
  tokenToId(token: string): number | undefined;
  /**
   * Writes `tokenizer.json` (and `tokenizer_config.json`) into a directory so that Hugging Face
   * libraries and {@link Tokenizer} loaders read it back.
   */
  save(directory: string): Promise<void>;
}
