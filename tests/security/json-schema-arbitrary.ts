import fc from 'fast-check';

/** A JSON Schema (draft 2020-12) node as the OpenAPI document of the route table holds it. */
export type JsonSchemaNode = Record<string, unknown>;

const maxArrayItems = 3;

/** Strings an attacker tries first: traversal, injection, control characters, huge-ish and unicode. */
const hostileString = fc.constantFrom(
  '',
  ' ',
  '..',
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  'artifact://../x',
  'job:00000000-0000-4000-8000-000000000000',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text is the attack (log4shell).
  '${jndi:ldap://x}',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '\u0000',
  '\u202e\ufeff',
  '🙂'.repeat(40),
  'a'.repeat(5000),
  '__proto__',
  'constructor',
);

/**
 * A fast-check arbitrary of values shaped like `schema` (objects with their properties, strings within
 * their bounds, numbers in range, enums): mostly valid inputs, so that fuzzing reaches the handlers,
 * mixed with hostile strings. Unknown constructs (`$ref`, `not`) produce any JSON value.
 */
export function arbitraryOf(schema: JsonSchemaNode | undefined, depth = 0): fc.Arbitrary<unknown> {
  // A boolean schema (`true`/`false`) or an unknown node: any JSON value.
  if (typeof schema !== 'object' || schema === null || depth > 6) return fc.jsonValue({ maxDepth: 2 });
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchemaNode[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    return fc.oneof(...alternatives.map((alternative) => arbitraryOf(alternative, depth + 1)));
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    return arbitraryOf(schema.allOf[0] as JsonSchemaNode, depth + 1);
  }
  const type = Array.isArray(schema.type) ? (schema.type[0] as string) : (schema.type as string | undefined);
  switch (type) {
    case 'string': {
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const maxLength = Math.min(typeof schema.maxLength === 'number' ? schema.maxLength : 64, 64);
      const plain =
        schema.format === 'date-time'
          ? fc.date({ noInvalidDate: true }).map((date) => date.toISOString())
          : fc.string({
              minLength: Math.min(minLength, maxLength),
              maxLength: Math.max(minLength, maxLength),
            });
      return fc.oneof({ weight: 4, arbitrary: plain }, { weight: 1, arbitrary: hostileString });
    }
    case 'integer':
    case 'number': {
      const minimum = typeof schema.minimum === 'number' ? schema.minimum : -1e6;
      const maximum = typeof schema.maximum === 'number' ? schema.maximum : 1e6;
      const inRange =
        type === 'integer'
          ? fc.integer({ min: Math.max(Math.ceil(minimum), -1e9), max: Math.min(Math.floor(maximum), 1e9) })
          : fc.double({ min: Math.max(minimum, -1e9), max: Math.min(maximum, 1e9), noNaN: true });
      return fc.oneof(
        { weight: 4, arbitrary: inRange },
        { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53, 0.5) },
      );
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(arbitraryOf(schema.items as JsonSchemaNode | undefined, depth + 1), {
        maxLength: maxArrayItems,
      });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchemaNode>;
      const required = new Set((schema.required ?? []) as string[]);
      const names = Object.keys(properties);
      if (names.length === 0)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }));
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const name of names) record[name] = arbitraryOf(properties[name], depth + 1);
      return fc.record(record, { requiredKeys: names.filter((name) => required.has(name)) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A JSON body as text: a schema-shaped value, or it mutated (any JSON, extra or wrong-typed fields), or its text truncated. */
export function bodyTextOf(schema: JsonSchemaNode | undefined): fc.Arbitrary<string> {
  const shaped = arbitraryOf(schema);
  const mutated = fc.oneof(
    shaped,
    fc.jsonValue({ maxDepth: 3 }),
    fc
      .tuple(shaped, fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }))
      .map(([value, key, extra]) =>
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? { ...value, [key]: extra }
          : value,
      ),
  );
  return fc.oneof(
    { weight: 3, arbitrary: mutated.map((value) => JSON.stringify(value) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.tuple(shaped, fc.nat()).map(([value, cut]) => {
        const text = JSON.stringify(value) ?? 'null';
        return text.slice(0, text.length === 0 ? 0 : cut % text.length);
      }),
    },
  );
}
