import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TunekitError } from './tunekit-error.js';
import { parseOrThrow } from './validation-error.js';

const PersonSchema = z.object({
  name: z.string().min(1),
  tags: z.array(z.string()),
  limits: z.object({ rank: z.number().int().positive() }),
});

describe('parseOrThrow', () => {
  it('returns the parsed value', () => {
    const person = parseOrThrow(PersonSchema, { name: 'a', tags: [], limits: { rank: 1 } }, 'person');
    expect(person.name).toBe('a');
  });

  it('throws VALIDATION_FAILED listing every failing field with dotted paths', () => {
    let caught: unknown;
    try {
      parseOrThrow(PersonSchema, { name: '', tags: ['x', 3], limits: { rank: 0 } }, 'person');
    } catch (error) {
      caught = error;
    }
    expect(TunekitError.isInstance(caught)).toBe(true);
    const error = caught as TunekitError;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    const issues = error.details.issues as Array<{ path: string; message: string }>;
    expect(issues.map((issue) => issue.path)).toEqual(['name', 'tags.1', 'limits.rank']);
    expect(error.message).toMatch(/^Invalid person: name: .+; tags\.1: .+; limits\.rank: .+/);
    expect(error.message).toContain('expected string');
    expect(error.details.what).toBe('person');
  });

  it('names the root when the value itself is wrong', () => {
    expect(() => parseOrThrow(PersonSchema, 42, 'person')).toThrow(/Invalid person: \(root\): /);
  });
});
