import type { z } from 'zod';
import { tunekitError } from '../errors/tunekit-error.js';
import { toValidationIssues } from '../errors/validation-error.js';
import type { Extensions } from '../plugins/extension-points.js';
import { CORE_JOB_INPUT_SCHEMAS } from './job-kinds.js';
import type { JobContext, JobHandler, JobKindOptions, JobQueue } from './job-queue.js';

/**
 * A job that its handler has finished, before it is marked `succeeded`: what a completion step
 * (`jobCompletion` extension point) receives.
 */
export interface FinishedJob {
  id: string;
  kind: string;
  /** The input as stored (parsed, defaults applied, for kinds with a schema). */
  input: unknown;
  /** The handler's output (with the fields of earlier completion steps merged in). */
  output: unknown;
  owner?: string;
  /** Aborted when the job is cancelled or the kit closes. */
  signal: AbortSignal;
}

/**
 * Work that must be done before a job of one of `kinds` counts as `succeeded`, e.g. the registry
 * registering a training job's output. Steps run in registration order after the handler returns;
 * the fields a step returns are merged into the job's output; a step that throws fails the job.
 */
export interface JobCompletionStep {
  /** Job kinds this step completes. */
  readonly kinds: readonly string[];
  complete(job: FinishedJob): Promise<Record<string, unknown> | undefined>;
}

/** Names of the fields of `input` (top level), for error messages. */
function sentFields(input: unknown): string[] {
  return input !== null && typeof input === 'object' && !Array.isArray(input) ? Object.keys(input) : [];
}

/**
 * Parses a job's input with its kind's schema; throws `VALIDATION_FAILED` that names every failing
 * field (unknown keys included) and the fields that were sent.
 */
export function parseJobInput(kind: string, schema: z.ZodType, input: unknown): unknown {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = toValidationIssues(result.error);
  const received = sentFields(input);
  const listed = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  throw tunekitError(
    'VALIDATION_FAILED',
    `Invalid input for job kind "${kind}" (nothing was queued): ${listed}. ` +
      `Fields sent: ${received.length === 0 ? '(none)' : received.join(', ')}`,
    { what: `input of job kind "${kind}"`, kind, issues, received },
    { cause: result.error },
  );
}

/**
 * Wraps a job queue with the kit's job contracts: `submit` validates the input of kinds with a
 * schema (core's kinds, or `inputSchema` given at `register`) and stores it parsed, so a bad input
 * fails at `submit` and nothing is queued; handlers of a kind run the `jobCompletion` steps
 * registered for it before the job is `succeeded`, so `wait` resolves once that work is done (e.g.
 * the trained model is registered, its version in the job's output).
 */
export function withJobContracts<Queue extends JobQueue>(queue: Queue, extensions: Extensions): Queue {
  const schemas = new Map<string, z.ZodType>(Object.entries(CORE_JOB_INPUT_SCHEMAS));
  const complete = async (kind: string, input: unknown, output: unknown, context: JobContext) => {
    let current = output;
    for (const { value: step } of extensions.list('jobCompletion')) {
      if (!step.kinds.includes(kind)) continue;
      const extra = await step.complete({
        id: context.jobId,
        kind,
        input,
        output: current,
        owner: context.owner,
        signal: context.signal,
      });
      if (extra !== undefined) current = { ...((current ?? {}) as Record<string, unknown>), ...extra };
    }
    return current;
  };
  const wrapped: JobQueue = {
    register<Input, Output>(kind: string, handler: JobHandler<Input, Output>, options: JobKindOptions = {}) {
      if (options.inputSchema !== undefined && typeof kind === 'string')
        schemas.set(kind, options.inputSchema);
      const completing: JobHandler<Input, Output> = async (input, context) =>
        (await complete(kind, input, await handler(input, context), context)) as Output;
      queue.register(kind, typeof handler === 'function' ? completing : handler, options);
    },
    async submit(kind, input, options) {
      const schema = schemas.get(kind);
      const parsed = schema === undefined ? input : parseJobInput(kind, schema, input);
      return queue.submit(kind, parsed as typeof input, options);
    },
    get: (id) => queue.get(id),
    list: (query) => queue.list(query),
    cancel: (id, reason) => queue.cancel(id, reason),
    resume: (id) => queue.resume(id),
    wait: (id, options) => queue.wait(id, options),
    close: () => queue.close(),
  };
  // Keep the queue's own members (runnerId, start …) and override the contract methods.
  return Object.assign(Object.create(queue) as Queue, wrapped);
}
