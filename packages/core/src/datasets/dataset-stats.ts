import type { RowFormat } from '../schemas/dataset-row.js';
import type { LengthSummary } from './length-summary.js';

/**
 * Counts tokens of a text: return the token ids (any array-like) or the count, sync or async.
 * Pass a Hugging Face tokenizer as `(text) => tokenizer.encode(text).ids`.
 */
export type TokenCounter = (
  text: string,
) => ArrayLike<unknown> | number | Promise<ArrayLike<unknown> | number>;

/** Options of `kit.datasets.stats`. */
export interface DatasetStatsOptions {
  /** Measures token lengths too (`tokens` in the result). */
  tokenize?: TokenCounter;
  /** Histogram bins of the length distributions (default 20). */
  histogramBins?: number;
  /** A row whose text has at most this many non-whitespace characters is near-empty (default 3). */
  nearEmptyMaxCharacters?: number;
}

/** Statistics of one dataset version. */
export interface DatasetStats {
  versionId: string;
  rowFormat: RowFormat;
  rowCount: number;
  /** Size of the stored canonical JSONL. */
  bytes: number;
  /** Size of the source file, when registered from one. */
  sourceBytes?: number;
  /** Rows per label (classification datasets only). */
  labels?: Record<string, number>;
  /** Length of each row's text in characters (see `rowText`). */
  characters: LengthSummary;
  /** Length of each row's text in tokens, when a tokenizer was given. */
  tokens?: LengthSummary;
  /** Rows identical to an earlier row (whole row), and the number of distinct rows. */
  duplicates: { rows: number; distinctRows: number };
  /** Rows whose input (text, prompt, or non-assistant messages) repeats an earlier row's input. */
  duplicateInputs: number;
  /** Rows whose text has at most `nearEmptyMaxCharacters` non-whitespace characters. */
  nearEmptyRows: number;
  nearEmptyMaxCharacters: number;
}
