import { TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { convertWire, fromWire, toSnakeCase, toWire } from './wire-case.js';

const Schema = z.object({
  modelId: z.string(),
  hyperParameters: z.object({ maxSteps: z.number(), learningRate: z.number().optional() }).optional(),
  metrics: z.record(z.string(), z.object({ bestValue: z.number() })),
  pairs: z.array(z.tuple([z.object({ leftSide: z.string() }), z.number()])),
  source: z.union([z.object({ versionId: z.string() }), z.object({ rowsInline: z.array(z.string()) })]),
  extra: z.unknown(),
  asText: z.string().pipe(z.string().min(1)),
});

const camel = {
  modelId: 'm',
  hyperParameters: { maxSteps: 4, learningRate: 0.1 },
  metrics: { evalLoss: { bestValue: 1 } },
  pairs: [[{ leftSide: 'a' }, 1]],
  source: { rowsInline: ['x'] },
  extra: { jobOutput: { finalLoss: 2 } },
  asText: 'y',
};

const snake = {
  model_id: 'm',
  hyper_parameters: { max_steps: 4, learning_rate: 0.1 },
  metrics: { evalLoss: { best_value: 1 } },
  pairs: [[{ left_side: 'a' }, 1]],
  source: { rows_inline: ['x'] },
  extra: { job_output: { final_loss: 2 } },
  as_text: 'y',
};

describe('wire casing: one walk in two directions', () => {
  it('converts a response to snake_case: object keys, tuples, the matching union option, open values deeply; record keys stay', () => {
    expect(toWire(Schema, camel)).toEqual(snake);
    expect(convertWire('toWire', Schema, camel)).toEqual(toWire(Schema, camel));
  });

  it('converts a request from snake_case: fields map to the schema, record keys and open values stay', () => {
    expect(fromWire(Schema, snake)).toEqual({
      ...camel,
      // An `unknown` field is data coming in: kept as sent.
      extra: { job_output: { final_loss: 2 } },
    });
  });

  it('refuses a camelCase field coming in, naming the spelling to use and where', () => {
    const attempt = () => fromWire(Schema, { model_id: 'm', hyper_parameters: { maxSteps: 4 } });
    expect(attempt).toThrow(
      'Invalid request: hyper_parameters.maxSteps: the HTTP API is snake_case, send "max_steps"',
    );
    try {
      attempt();
    } catch (error) {
      expect(TunekitError.isInstance(error) && error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('round-trips: fromWire(toWire(value)) is the value for schema-described fields', () => {
    const { extra: _open, ...described } = camel;
    const { extra: _schemaOpen, ...shape } = Schema.shape;
    const Described = z.object(shape);
    expect(fromWire(Described, toWire(Described, described))).toEqual(described);
  });

  it('leaves values without a schema alone coming in and converts them deeply going out', () => {
    expect(fromWire(undefined, { someKey: { innerKey: 1 } })).toEqual({ someKey: { innerKey: 1 } });
    expect(toWire(undefined, { someKey: [{ innerKey: 1 }] })).toEqual({ some_key: [{ inner_key: 1 }] });
    expect(toSnakeCase('onlyACorrect')).toBe('only_a_correct');
  });
});
