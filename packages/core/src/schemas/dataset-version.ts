import { z } from 'zod';
import { DatasetKindSchema } from './dataset.js';
import { RowFormatSchema } from './dataset-row.js';

/** File formats a dataset can be read from. */
export const DatasetFileFormatSchema = z.enum(['jsonl', 'json', 'csv', 'parquet']);
/** File formats a dataset can be read from. */
export type DatasetFileFormat = z.infer<typeof DatasetFileFormatSchema>;

/** Where the rows of a version came from. */
export const DatasetOriginSchema = z.enum(['file', 'rows', 'stream', 'split', 'filter']);
/** Where the rows of a version came from. */
export type DatasetOrigin = z.infer<typeof DatasetOriginSchema>;

/**
 * One immutable, content-addressed version of a dataset: its rows are stored as canonical JSONL
 * (keys sorted, one row a line) at `uri`, and `sha256` is the hash of exactly those bytes.
 */
export const DatasetVersionSchema = z.object({
  /** `dsv_` + 24 hex characters derived from the dataset name and the content hash. */
  id: z.string().min(1),
  datasetId: z.string().min(1),
  name: z.string().min(1),
  kind: DatasetKindSchema,
  rowFormat: RowFormatSchema,
  /** Format of the source file; absent for in-memory rows and derived versions. */
  fileFormat: DatasetFileFormatSchema.optional(),
  origin: DatasetOriginSchema,
  /** Hex sha256 of the canonical JSONL. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** `artifact://datasets/<name>/<sha256>.jsonl`. */
  uri: z.string().min(1),
  /** Number of valid rows stored. */
  rowCount: z.number().int().min(0),
  /** Size of the canonical JSONL in bytes. */
  bytes: z.number().int().min(0),
  /** Size of the source file in bytes, when read from a file or stream. */
  sourceBytes: z.number().int().min(0).optional(),
  /** Validation mode the version was registered with. */
  mode: z.enum(['strict', 'lenient']),
  /** Invalid source rows dropped in lenient mode (0 in strict mode). */
  droppedRowCount: z.number().int().min(0),
  /** The version this one was derived from (split, filter, feedback export …). */
  parentVersionId: z.string().optional(),
  description: z.string().optional(),
  /** Who registered this version (the uploader: the actor of the call), when known. */
  createdBy: z.string().optional(),
  createdAt: z.string(),
  /** Compare-and-set counter maintained by the storage collection. */
  version: z.number().int().min(0).optional(),
});
/** One immutable, content-addressed dataset version. */
export type DatasetVersion = z.infer<typeof DatasetVersionSchema>;
