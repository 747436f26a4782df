import { createTunekit } from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fromWire, toSnakeCase, toWire } from '../wire/wire-case.js';
import { openApiDocument } from './openapi-document.js';

const SNAKE_CASE = /^[a-z0-9]+(_[a-z0-9]+)*$/;

/** Every property name and query parameter of an OpenAPI document that is not snake_case, with where. */
function nonSnakeCaseNames(document: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown, where: string) => {
    if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) walk(item, `${where}[${index}]`);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.properties && typeof record.properties === 'object') {
      for (const name of Object.keys(record.properties))
        if (!SNAKE_CASE.test(name)) found.push(`${where}: ${name}`);
    }
    if (Array.isArray(record.required)) {
      for (const name of record.required)
        if (!SNAKE_CASE.test(String(name))) found.push(`${where}: required ${name}`);
    }
    if ((record.in === 'query' || record.in === 'path') && typeof record.name === 'string') {
      if (!SNAKE_CASE.test(record.name)) found.push(`${where}: parameter ${record.name}`);
    }
    for (const [key, value] of Object.entries(record)) walk(value, `${where}/${key}`);
  };
  walk(document, '#');
  return found;
}

describe('the HTTP wire format', () => {
  it('names every property and parameter of the OpenAPI document in snake_case (plugin routes included)', async () => {
    const kit = await createTunekit({ plugins: [registryPlugin()] });
    try {
      const document = openApiDocument(kit);
      expect(Object.keys(document.paths).length).toBeGreaterThan(20);
      expect(nonSnakeCaseNames(document)).toEqual([]);
      // The walker does find camelCase names.
      expect(nonSnakeCaseNames({ properties: { modelId: {} } })).toEqual(['#: modelId']);
    } finally {
      await kit.close();
    }
  });

  it('converts keys of declared objects, keeps record keys, and refuses a second spelling', () => {
    const schema = z.object({
      modelId: z.string(),
      metrics: z.record(z.string(), z.number()),
      variants: z.array(z.object({ successMetric: z.string().optional() })),
    });
    expect(toSnakeCase('onlyACorrect')).toBe('only_a_correct');
    const wire = toWire(schema, {
      modelId: 'm',
      metrics: { evalLoss: 1 },
      variants: [{ successMetric: 'x' }],
    });
    expect(wire).toEqual({ model_id: 'm', metrics: { evalLoss: 1 }, variants: [{ success_metric: 'x' }] });
    expect(fromWire(schema, wire)).toEqual({
      modelId: 'm',
      metrics: { evalLoss: 1 },
      variants: [{ successMetric: 'x' }],
    });
    expect(() => fromWire(schema, { modelId: 'm' })).toThrow(/the HTTP API is snake_case, send "model_id"/);
  });
});
