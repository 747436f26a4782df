import type { OperationContext } from '../kit/operation-context.js';
import type { Dataset, DatasetKind } from '../schemas/dataset.js';
import type { DatasetRow, RowFormat } from '../schemas/dataset-row.js';
import type { DatasetFileFormat, DatasetVersion } from '../schemas/dataset-version.js';
import type { CollectionPage } from '../storage/collection.js';
import type { DatasetComparison } from './dataset-comparison.js';
import type { DatasetSource } from './dataset-source.js';
import type { DatasetStats, DatasetStatsOptions, TokenCounter } from './dataset-stats.js';
import type { ValidationReport } from './validation-report.js';

/** Input of {@link DatasetService.register}. */
export interface RegisterDatasetInput {
  /** Dataset name (its id): letters, digits, `.`, `_`, `-`. */
  name: string;
  kind: DatasetKind;
  source: DatasetSource;
  /** Detected from the file extension and content when omitted. */
  fileFormat?: DatasetFileFormat;
  /** Detected from the fields of the first rows when omitted. */
  rowFormat?: RowFormat;
  /** `strict` (default) rejects the source if any row is invalid; `lenient` drops invalid rows. */
  mode?: 'strict' | 'lenient';
  /** The version this one derives from (a feedback export, a hand-cleaned copy …). */
  parentVersionId?: string;
  description?: string;
  /**
   * Only the dataset's owner adds this version (default false): the name must be new (the dataset
   * record is then created atomically, insert-if-absent, with `context.actor` as `createdBy`) or
   * belong to `context.actor`; otherwise `DATASET_NAME_TAKEN` (409) and nothing is stored. Of two
   * registrations racing to create one name, exactly one owns it. The server sets it for non-admins.
   */
  ownerOnly?: boolean;
}

/** Input of {@link DatasetService.validate}: a dry run of `register` that stores nothing. */
export type ValidateDatasetInput = Pick<RegisterDatasetInput, 'source' | 'fileFormat' | 'rowFormat'>;

/** What {@link DatasetService.validate} found. */
export interface DatasetValidationResult {
  fileFormat?: DatasetFileFormat;
  rowFormat: RowFormat;
  report: ValidationReport;
}

/** Options of {@link DatasetService.split}. */
export interface SplitDatasetOptions {
  /** Share of rows for training, e.g. 0.8. The three shares add up to 1. */
  train: number;
  validation: number;
  /** Share for a test split (default 0: no test version). */
  test?: number;
  /** Seed of the shuffle: the same seed gives the same split. */
  seed: number;
  /** Stratify by label (default: true for classification datasets). */
  stratify?: boolean;
  /** Names of the child datasets (default `<name>-train`, `<name>-validation`, `<name>-test`). */
  names?: { train?: string; validation?: string; test?: string };
}

/** The child versions a split produced. */
export interface DatasetSplit {
  train: DatasetVersion;
  validation: DatasetVersion;
  test?: DatasetVersion;
}

/** Decides whether a row is kept by {@link DatasetService.filter}; `index` is 0-based. */
export type DatasetRowPredicate = (row: DatasetRow, index: number) => boolean | Promise<boolean>;

/** Options of {@link DatasetService.filter}. */
export interface FilterDatasetOptions {
  /** Dataset the child version belongs to (default: the parent's dataset). */
  name?: string;
  description?: string;
}

/** Query of {@link DatasetService.list}. */
export interface DatasetListQuery {
  kind?: DatasetKind;
  limit?: number;
  cursor?: string;
}

/**
 * `kit.datasets`: registration, validation, content-addressed versions, statistics, comparison,
 * splits and filters of training data. Every mutating method takes an optional
 * {@link OperationContext} for the audit log.
 */
export interface DatasetService {
  /**
   * Reads the source as a stream, validates every row with the zod schema of its row format and
   * stores the valid rows as canonical JSONL in the artifact store. Identical content under the same
   * name returns the existing version.
   *
   * @throws `DATASET_INVALID` (strict mode with invalid rows; `details.report`), `DATASET_EMPTY`,
   * `DATASET_ROW_FORMAT_UNKNOWN`, `CONFLICT` (the name exists with another kind), `NOT_FOUND` (parent),
   * `DATASET_NAME_TAKEN` (`ownerOnly` and the dataset is another actor's).
   */
  register(input: RegisterDatasetInput, context?: OperationContext): Promise<DatasetVersion>;
  /** Validates a source without storing anything (the report of a lenient registration). */
  validate(input: ValidateDatasetInput): Promise<DatasetValidationResult>;
  get(name: string): Promise<Dataset | undefined>;
  list(query?: DatasetListQuery): Promise<CollectionPage<Dataset>>;
  /** Versions of a dataset, oldest first. */
  versions(name: string): Promise<DatasetVersion[]>;
  getVersion(versionId: string): Promise<DatasetVersion | undefined>;
  /** The rows of a version, streamed from the artifact store. @throws `NOT_FOUND`. */
  rows(versionId: string): AsyncIterable<DatasetRow>;
  stats(versionId: string, options?: DatasetStatsOptions): Promise<DatasetStats>;
  /** Leakage (exact overlap of A into B) and distribution shift of B against A. */
  compare(
    versionA: string,
    versionB: string,
    options?: { tokenize?: TokenCounter; bins?: number },
  ): Promise<DatasetComparison>;
  /** Deterministic (seeded), stratified split into child versions whose parent is `versionId`. */
  split(versionId: string, options: SplitDatasetOptions, context?: OperationContext): Promise<DatasetSplit>;
  /** A child version with the rows the predicate keeps. @throws `DATASET_EMPTY` when none is kept. */
  filter(
    versionId: string,
    predicate: DatasetRowPredicate,
    options?: FilterDatasetOptions,
    context?: OperationContext,
  ): Promise<DatasetVersion>;
  /** Deletes a dataset, its versions and their artifacts. @returns false when it did not exist. */
  delete(name: string, context?: OperationContext): Promise<boolean>;
  /** Deletes one version and its artifact. @returns false when it did not exist. */
  deleteVersion(versionId: string, context?: OperationContext): Promise<boolean>;
}
