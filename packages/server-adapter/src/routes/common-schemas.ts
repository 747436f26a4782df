import { z } from 'zod';

/** Path parameters `{id}`. */
export const IdParamsSchema = z.object({ id: z.string().min(1).max(200) });

/** Paging query: `limit` (1–100) and an opaque `cursor`. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(500).optional(),
});

/** A page of records with the cursor of the next page. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().optional() });
}

/** A loosely typed JSON object (records whose full schema lives in the services). */
export const JsonObjectSchema = z.looseObject({});
