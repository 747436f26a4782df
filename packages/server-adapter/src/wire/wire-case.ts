import { type TunekitError, tunekitError } from '@tunekit/core';
import type { z } from 'zod';

/**
 * The HTTP wire format is snake_case (as OpenAI, TGI and the seeds' HTTP contracts), the TypeScript
 * API camelCase. Route schemas are written once, in either casing; this module converts the keys of
 * their object shapes between the two, guided by the schema: record keys (metric names, labels,
 * user metadata) are data and stay as they are.
 */

/** `progressMessage` → `progress_message`, `onlyACorrect` → `only_a_correct`; snake_case stays. */
export function toSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** Whether a key is written in the wire's casing (no upper-case letter). */
export function isWireKey(key: string): boolean {
  return !/[A-Z]/.test(key);
}

type Definition = { type: string; [key: string]: unknown };

function definitionOf(schema: z.ZodType): Definition {
  return (schema as unknown as { _zod: { def: Definition } })._zod.def;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** Converts every key of plain objects, deeply (for values a schema does not describe). */
function deepToWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepToWire);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [toSnakeCase(key), deepToWire(item)]));
}

function inner(definition: Definition): z.ZodType | undefined {
  return (definition.innerType ?? definition.schema) as z.ZodType | undefined;
}

/** A field sent in the wrong casing: named with the spelling to use. */
function wrongCasing(path: readonly (string | number)[], key: string): TunekitError {
  const where = [...path.map(String), key].join('.');
  return tunekitError(
    'VALIDATION_FAILED',
    `Invalid request: ${where}: the HTTP API is snake_case, send "${toSnakeCase(key)}"`,
    { issues: [{ path: where, message: `use ${toSnakeCase(key)}` }] },
  );
}

/**
 * Which way {@link convertWire} converts: `toWire` a response (schema casing → snake_case),
 * `fromWire` a request (snake_case → the schema's casing).
 */
export type WireDirection = 'toWire' | 'fromWire';

/**
 * The one walk over a schema and a value behind {@link toWire} and {@link fromWire}: wrappers,
 * pipes (their output side going out, their input side coming in), lazy schemas, arrays, tuples,
 * records (keys are data and stay), objects (keys converted), unions (the option the value matches)
 * and intersections. Values the schema leaves open (`unknown`, `any`) are converted deeply going out
 * and kept coming in.
 */
export function convertWire(
  direction: WireDirection,
  schema: z.ZodType | undefined,
  value: unknown,
  path: (string | number)[] = [],
): unknown {
  const outgoing = direction === 'toWire';
  if (schema === undefined) return outgoing ? deepToWire(value) : value;
  const walk = (child: z.ZodType | undefined, item: unknown, at: (string | number)[] = path) =>
    convertWire(direction, child, item, at);
  const definition = definitionOf(schema);
  switch (definition.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return value === undefined || value === null ? value : walk(inner(definition), value);
    case 'pipe':
      return walk((outgoing ? definition.out : definition.in) as z.ZodType, value);
    case 'lazy':
      return walk((definition.getter as () => z.ZodType)(), value);
    case 'array':
      return Array.isArray(value)
        ? value.map((item, index) => walk(definition.element as z.ZodType, item, [...path, index]))
        : value;
    case 'tuple':
      return Array.isArray(value)
        ? value.map((item, index) => walk((definition.items as z.ZodType[])[index], item, [...path, index]))
        : value;
    case 'record':
      return isPlainObject(value)
        ? Object.fromEntries(
            Object.entries(value).map(([key, item]) => [
              key,
              walk(definition.valueType as z.ZodType, item, [...path, key]),
            ]),
          )
        : value;
    case 'object': {
      if (!isPlainObject(value)) return value;
      const shape = definition.shape as Record<string, z.ZodType>;
      if (outgoing) {
        return Object.fromEntries(
          Object.entries(value).map(([key, item]) => [
            toSnakeCase(key),
            walk(shape[key], item, [...path, key]),
          ]),
        );
      }
      const byWireKey = new Map(Object.keys(shape).map((key) => [toSnakeCase(key), key]));
      const converted: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        if (!isWireKey(key)) throw wrongCasing(path, key);
        const field = byWireKey.get(key) ?? key;
        converted[field] = walk(shape[field], item, [...path, key]);
      }
      return converted;
    }
    case 'union': {
      // The option the value matches: before converting going out (the value is in the schema's
      // casing), after converting coming in. None matches: the first option's conversion.
      const options = definition.options as z.ZodType[];
      for (const option of options) {
        if (outgoing && !option.safeParse(value).success) continue;
        const candidate = walk(option, value);
        if (outgoing || option.safeParse(candidate).success) return candidate;
      }
      return options[0] === undefined ? value : walk(options[0], value);
    }
    case 'intersection':
      return walk(definition.right as z.ZodType, walk(definition.left as z.ZodType, value));
    case 'unknown':
    case 'any':
      return outgoing ? deepToWire(value) : value;
    default:
      return value;
  }
}

/**
 * A response value in the wire's casing: the keys of every object the schema declares become
 * snake_case; values the schema leaves open (`unknown`, `any`: job outputs, event payloads) are
 * converted deeply; records keep their keys.
 */
export function toWire(schema: z.ZodType | undefined, value: unknown): unknown {
  return convertWire('toWire', schema, value);
}

/**
 * A request value (body or query) from the wire's casing into the schema's: snake_case keys of the
 * objects the schema declares map to its camelCase fields. A camelCase key where the wire expects
 * snake_case is refused (`VALIDATION_FAILED` naming the spelling to use), so no route accepts two
 * spellings of a field; keys the schema does not know are kept (its strictness decides).
 */
export function fromWire(
  schema: z.ZodType | undefined,
  value: unknown,
  path: (string | number)[] = [],
): unknown {
  return convertWire('fromWire', schema, value, path);
}

/** A JSON Schema (from `z.toJSONSchema`) with every `properties` key and `required` entry in snake_case. */
export function toWireJsonSchema<T>(json: T): T {
  if (Array.isArray(json)) return json.map((item) => toWireJsonSchema(item)) as T;
  if (!isPlainObject(json)) return json;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(json)) {
    if (key === 'properties' && isPlainObject(item)) {
      result[key] = Object.fromEntries(
        Object.entries(item).map(([name, property]) => [toSnakeCase(name), toWireJsonSchema(property)]),
      );
    } else if (key === 'required' && Array.isArray(item)) {
      result[key] = item.map((name) => (typeof name === 'string' ? toSnakeCase(name) : name));
    } else {
      result[key] = toWireJsonSchema(item);
    }
  }
  return result as T;
}

/** Path segments of a validation issue in the wire's casing. */
export function wirePath(path: readonly PropertyKey[]): PropertyKey[] {
  return path.map((segment) => (typeof segment === 'string' ? toSnakeCase(segment) : segment));
}
