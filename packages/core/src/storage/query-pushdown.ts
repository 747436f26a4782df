import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { CollectionQuery } from './collection.js';
import type { BackendCondition, StoredPrimitive } from './storage-backend.js';

/** Field names a backend may inline in its query text. */
const queryableName = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Wrappers that keep a present value unchanged (a missing one is handled by parsing `undefined`). */
const transparentWrappers = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly']);
/** Base types whose parse returns a valid input unchanged, and whose values are JSON primitives. */
const primitiveTypes = new Set(['string', 'number', 'boolean', 'enum', 'literal']);
/** A lone surrogate: text the SQL engines cannot compare code unit for code unit (nor NUL, below). */
const unsafeFilterText = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** From U+D800 up, UTF-16 order (JavaScript) and code point order (SQL) may disagree. */
const orderSensitiveText = /[\uD800-\uFFFF]/;

interface ZodInternals {
  _zod?: { def?: { type?: string; innerType?: unknown; coerce?: boolean; shape?: Record<string, unknown> } };
}

/** How a collection's schema lets a backend evaluate filters and sorts on stored records. */
export interface QueryPushdown {
  /**
   * The backend conditions equivalent to an exact-match `filter` (empty for no filter), or
   * undefined when the filter must run in process (a predicate, a field that is not a plain
   * primitive in the schema, an object or array value, text SQL cannot compare exactly).
   */
  conditions(filter: CollectionQuery<unknown>['filter']): BackendCondition[] | undefined;
  /** True when the backend can sort by `field` exactly as the in-process sort does. */
  sortable(field: string): boolean;
  /** True when `field` is a plain primitive field: conditions and sorts on it can use an index. */
  indexable(field: string): boolean;
}

/** True when `value` is a JSON primitive a backend compares exactly like `isDeepStrictEqual`. */
export function isQueryablePrimitive(value: unknown): value is StoredPrimitive {
  if (value === null || typeof value === 'boolean') {
    return true;
  }
  if (typeof value === 'number') {
    // JSON cannot hold NaN or infinities; -0 is stored as 0 yet differs from it for isDeepStrictEqual.
    return Number.isFinite(value) && !Object.is(value, -0);
  }
  return typeof value === 'string' && !value.includes('\u0000') && !unsafeFilterText.test(value);
}

/**
 * True when code point order (SQL) and UTF-16 order (JavaScript) may rank `text` differently from
 * some other string. Text without such characters compares the same way against any string in both
 * orders, so a page whose ids, sort values and cursor all pass this check is exactly the page the
 * in-process sort would return.
 */
export function isOrderSensitive(text: unknown): boolean {
  return typeof text === 'string' && orderSensitiveText.test(text);
}

/** The schema of a record field whose stored JSON equals its parsed value, or undefined. */
function primitiveFieldSchema(fieldSchema: unknown): z.ZodType | undefined {
  let current = fieldSchema as ZodInternals;
  for (let depth = 0; depth < 8; depth += 1) {
    const def = current?._zod?.def;
    if (def?.type === undefined) {
      return undefined;
    }
    if (primitiveTypes.has(def.type)) {
      return def.coerce === true ? undefined : (fieldSchema as z.ZodType);
    }
    if (!transparentWrappers.has(def.type)) {
      return undefined;
    }
    current = def.innerType as ZodInternals;
  }
  return undefined;
}

/** What the schema turns a missing field into: `{ value }` (undefined stays missing), or undefined when it rejects it. */
function missingValue(fieldSchema: z.ZodType): { value: unknown } | undefined {
  const parsed = fieldSchema.safeParse(undefined);
  return parsed.success ? { value: parsed.data } : undefined;
}

/**
 * Reads which top-level fields of an object schema are plain primitives (string, number, boolean,
 * enum, literal, possibly optional, nullable or defaulted, never coerced or transformed): for those,
 * the JSON a backend stores equals the value a read returns, so the backend can filter and sort on
 * them with the in-process results.
 */
export function createQueryPushdown(schema: z.ZodType): QueryPushdown {
  const fields = new Map<string, z.ZodType>();
  const def = (schema as ZodInternals)._zod?.def;
  if (def?.type === 'object' && def.shape !== undefined) {
    for (const [field, fieldSchema] of Object.entries(def.shape)) {
      const primitive = queryableName.test(field) ? primitiveFieldSchema(fieldSchema) : undefined;
      if (primitive !== undefined) {
        fields.set(field, primitive);
      }
    }
  }
  return {
    conditions(filter) {
      if (filter === undefined) {
        return [];
      }
      if (typeof filter !== 'object' || filter === null) {
        return undefined;
      }
      const conditions: BackendCondition[] = [];
      for (const [field, expected] of Object.entries(filter as Record<string, unknown>)) {
        if (expected === undefined) {
          continue;
        }
        const fieldSchema = fields.get(field);
        if (fieldSchema === undefined || !isQueryablePrimitive(expected)) {
          return undefined;
        }
        // A stored record without the field reads as the schema's default for it (if any).
        const missing = missingValue(fieldSchema);
        conditions.push({
          field,
          equals: expected,
          orMissing: missing !== undefined && isDeepStrictEqual(missing.value, expected),
        });
      }
      return conditions;
    },
    indexable: (field) => fields.has(field),
    sortable(field) {
      if (field === 'id') {
        return true;
      }
      const fieldSchema = fields.get(field);
      if (fieldSchema === undefined) {
        return false;
      }
      // A default would make a missing field sort as that value; keep those in process.
      const missing = missingValue(fieldSchema);
      return missing === undefined || missing.value === undefined;
    },
  };
}
