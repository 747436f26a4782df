import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Dataset, DatasetKindSchema, DatasetNameSchema } from '../schemas/dataset.js';
import { type RowFormat, RowFormatSchema } from '../schemas/dataset-row.js';
import { DatasetFileFormatSchema, type DatasetOrigin } from '../schemas/dataset-version.js';
import type { RegisterDatasetInput } from './dataset-service.js';
import type { DatasetSource } from './dataset-source.js';

/** Whether `value` is exactly one of `{ path }`, `{ rows }` (an iterable) or `{ stream }` (an async iterable). */
export const isDatasetSource = (value: unknown): value is DatasetSource => {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  const source = value as Record<string, unknown>;
  const keys = ['path', 'rows', 'stream'].filter((key) => source[key] !== undefined);
  if (keys.length !== 1) {
    return false;
  }
  if (keys[0] === 'path') {
    return typeof source.path === 'string' && source.path.length > 0;
  }
  const iterable = source[keys[0] as string] as Record<symbol, unknown> | null;
  return (
    iterable !== null &&
    typeof iterable === 'object' &&
    (typeof iterable[Symbol.iterator] === 'function' || typeof iterable[Symbol.asyncIterator] === 'function')
  );
};

/** Input of `datasets.register` and `datasets.validate`. */
export const RegisterInputSchema = z.object({
  name: DatasetNameSchema,
  kind: DatasetKindSchema,
  source: z.custom<DatasetSource>(isDatasetSource, {
    message:
      'source must be one of { path }, { rows } (an iterable) or { stream } (an async iterable of bytes)',
  }),
  fileFormat: DatasetFileFormatSchema.optional(),
  rowFormat: RowFormatSchema.optional(),
  mode: z.enum(['strict', 'lenient']).default('strict'),
  parentVersionId: z.string().min(1).optional(),
  description: z.string().max(10_000).optional(),
  /**
   * Only the dataset's owner adds this version: the name must be new (the dataset record is then
   * created atomically, insert-if-absent, with the caller as `createdBy`) or belong to the caller
   * (`context.actor`). Of two registrations racing to create one name, the other caller's gets
   * `DATASET_NAME_TAKEN` (409) and stores nothing. The server sets it for every non-admin upload.
   */
  ownerOnly: z.boolean().default(false),
});

/** Options of `datasets.split`: fractions that add up to 1, a seed, optional stratification and names. */
export const SplitOptionsSchema = z
  .object({
    train: z.number().min(0).max(1),
    validation: z.number().min(0).max(1),
    test: z.number().min(0).max(1).default(0),
    seed: z.number().int(),
    stratify: z.boolean().optional(),
    names: z
      .object({
        train: DatasetNameSchema.optional(),
        validation: DatasetNameSchema.optional(),
        test: DatasetNameSchema.optional(),
      })
      .default({}),
  })
  .refine((options) => Math.abs(options.train + options.validation + options.test - 1) < 1e-6, {
    message: 'train + validation + test must add up to 1',
  });

/** The id of a version: derived from the dataset name and the content hash, so it is stable. */
export function versionIdFor(name: string, sha256: string): string {
  return `dsv_${createHash('sha256').update(`${name}\n${sha256}`).digest('hex').slice(0, 24)}`;
}

/** Internal registration request: public input plus the origin of derived versions. */
export interface StoreRequest {
  name: string;
  kind: Dataset['kind'];
  source: DatasetSource;
  fileFormat?: RegisterDatasetInput['fileFormat'];
  rowFormat?: RowFormat;
  mode: 'strict' | 'lenient';
  parentVersionId?: string;
  description?: string;
  origin?: DatasetOrigin;
  /** Who registers it (`context.actor`): the version's `createdBy`, and the dataset's when it is new. */
  createdBy?: string;
  /** Refuse (`DATASET_NAME_TAKEN`) unless the dataset is new or `createdBy` owns it. */
  ownerOnly?: boolean;
}
