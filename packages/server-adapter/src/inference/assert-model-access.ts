import { type Principal, type Tunekit, tunekitError } from '@tunekit/core';
import { JOB_MODEL_PREFIX } from './model-cache.js';

/**
 * A `job:<id>` model is the output of someone's training job: only its owner (or a principal that may
 * read every job) may use it. Others get `NOT_FOUND`, as for the job itself.
 */
export async function assertModelAccess(
  kit: Tunekit,
  principal: Principal | undefined,
  modelId: string,
): Promise<void> {
  if (!modelId.startsWith(JOB_MODEL_PREFIX)) return;
  const job = await kit.jobs.get(modelId.slice(JOB_MODEL_PREFIX.length));
  if (!job || !kit.policy.can(principal, 'jobs:read', { owner: job.owner, id: job.id })) {
    throw tunekitError('NOT_FOUND', `No model "${modelId}" is served`);
  }
}
