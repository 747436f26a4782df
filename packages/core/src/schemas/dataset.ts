import { z } from 'zod';

/** What a dataset is used for: training, validation or evaluation data. */
export const DatasetKindSchema = z.enum(['training', 'validation', 'test', 'feedback']);
/** What a dataset is used for. */
export type DatasetKind = z.infer<typeof DatasetKindSchema>;

/**
 * A dataset name: letters, digits, `.`, `_` and `-`, starting with a letter or digit. It is the
 * dataset's id and a folder of the artifact store (`artifact://datasets/<name>/`).
 */
export const DatasetNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'use letters, digits, ".", "_" and "-", starting with a letter or digit',
  );

/** A named dataset: the stable identity that content-addressed versions belong to. */
export const DatasetSchema = z.object({
  /** Same as `name`. */
  id: z.string().min(1),
  name: DatasetNameSchema,
  kind: DatasetKindSchema,
  description: z.string().optional(),
  /**
   * Who registered its first version (the actor of that call): the dataset's owner. Over HTTP only
   * the owner and admins add versions. Absent on datasets created before owners were recorded, and
   * on datasets registered without an operation context.
   */
  createdBy: z.string().optional(),
  /** The most recently registered version. */
  latestVersionId: z.string().optional(),
  versionCount: z.number().int().min(0),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Compare-and-set counter maintained by the storage collection. */
  version: z.number().int().min(0).optional(),
});
/** A named dataset. */
export type Dataset = z.infer<typeof DatasetSchema>;
