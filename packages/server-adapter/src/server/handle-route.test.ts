import { createTunekit, TunekitError, tunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { problemResponse } from './handle-route.js';

describe('problemResponse', () => {
  it("names a service's camelCase fields in the wire's snake_case; the SDK error keeps camelCase", async () => {
    const kit = await createTunekit();
    const error = await kit.jobs
      .submit('train', {
        baseModel: './models/tiny',
        dataset: { rows: [{ text: 'hi' }] },
        hyperparameters: { maxSteps: 0, batchSize: 4 },
        outputName: 'notes',
      })
      .catch((caught: unknown) => caught);
    await kit.close();
    expect(TunekitError.isInstance(error) && error.code).toBe('VALIDATION_FAILED');
    // The TypeScript API speaks camelCase…
    expect((error as TunekitError).message).toContain('hyperparameters.maxSteps: Too small');
    expect((error as TunekitError).message).toContain(
      'Fields sent: baseModel, dataset, hyperparameters, outputName',
    );
    // …the HTTP problem document snake_case, in its detail, issue paths and the list of fields sent.
    const response = problemResponse(error, 'request-1');
    expect(response.status).toBe(400);
    const problem = JSON.parse((response as { body: string }).body) as {
      detail: string;
      issues: Array<{ path: string; message: string }>;
      details: { received: string[] };
    };
    expect(problem.detail).toContain('hyperparameters.max_steps: Too small');
    expect(problem.detail).toContain('Fields sent: base_model, dataset, hyperparameters, output_name');
    expect(problem.issues).toEqual([{ path: 'hyperparameters.max_steps', message: expect.any(String) }]);
    expect(problem.details.received).toEqual(['base_model', 'dataset', 'hyperparameters', 'output_name']);
    expect(JSON.stringify(problem)).not.toMatch(/maxSteps|baseModel|outputName/);
  });

  it('leaves words that are not field names alone', () => {
    const error = tunekitError(
      'VALIDATION_FAILED',
      'Invalid options: topK: use topK with JavaScript, not maxSteps',
      { issues: [{ path: 'topK', message: 'must be at most 50 (see maxSteps)' }] },
    );
    const problem = JSON.parse((problemResponse(error, 'request-2') as { body: string }).body) as {
      detail: string;
      issues: Array<{ path: string; message: string }>;
    };
    expect(problem.detail).toBe('Invalid options: top_k: use top_k with JavaScript, not maxSteps');
    expect(problem.issues).toEqual([{ path: 'top_k', message: 'must be at most 50 (see maxSteps)' }]);
  });
});
