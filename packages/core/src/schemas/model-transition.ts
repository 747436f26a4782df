import { z } from 'zod';
import { ModelNameSchema } from './model-name.js';
import { ModelStageSchema } from './model-version.js';

/**
 * What happened in one transition: `register` (a new draft), `transition` (an explicit stage change),
 * `deploy` (promotion to production), `auto-archive` (the previous production version archived by a
 * promotion), `rollback` (production returned to the previous production version).
 */
export const ModelTransitionActionSchema = z.enum([
  'register',
  'transition',
  'deploy',
  'auto-archive',
  'rollback',
]);

/** Kind of a model transition. */
export type ModelTransitionAction = z.infer<typeof ModelTransitionActionSchema>;

/** One entry of a registered model's history (`registry.history(name)`). */
export const ModelTransitionSchema = z.object({
  id: z.string().min(1),
  name: ModelNameSchema,
  versionId: z.string().min(1),
  versionNumber: z.number().int().positive(),
  action: ModelTransitionActionSchema,
  /** Stage before (absent for `register`). */
  from: ModelStageSchema.optional(),
  to: ModelStageSchema,
  reason: z.string().max(2000).optional(),
  actor: z.string().min(1).default('system'),
  at: z.string(),
  /** Monotonic sequence within the process, to order entries written in the same millisecond. */
  sequence: z.number().int().min(0).default(0),
  version: z.number().int().min(0).default(0),
});

/** One history entry of a registered model. */
export type ModelTransition = z.infer<typeof ModelTransitionSchema>;
