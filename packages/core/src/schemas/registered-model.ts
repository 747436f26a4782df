import { z } from 'zod';
import { ModelNameSchema } from './model-name.js';

/** An alias name: a letter first, then letters, digits, `_` or `-` (at most 64). */
export const ModelAliasSchema = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    'must start with a letter and use only letters, digits, "_" and "-"',
  );

/**
 * The per-name record of a registered model: the version counter, the production pointer, the stack of
 * earlier production versions that `rollback` returns to, the aliases, and the stage-change lease (taken
 * by compare-and-set, so that stage changes of one name never interleave across processes).
 */
export const RegisteredModelSchema = z.object({
  /** The model name. */
  id: ModelNameSchema,
  /** Highest version number handed out. */
  latestVersionNumber: z.number().int().min(0),
  /** Id of the production version, if any. */
  productionVersionId: z.string().min(1).optional(),
  /** Earlier production version ids, most recent last (rollback pops from the end). */
  productionHistory: z.array(z.string().min(1)).default([]),
  /** Alias → version id (e.g. `champion` → `tone-ja@3`). */
  aliases: z.record(z.string(), z.string()).default({}),
  /** Held while a stage change of this name runs (a crashed holder's lease expires). */
  lease: z.object({ owner: z.string().min(1), expiresAt: z.number() }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.number().int().min(0).default(0),
});

/** The per-name record of a registered model. */
export type RegisteredModel = z.infer<typeof RegisteredModelSchema>;
