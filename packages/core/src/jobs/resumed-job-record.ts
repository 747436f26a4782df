import { tunekitError } from '../errors/tunekit-error.js';
import type { Job } from '../schemas/job.js';
import type { Collection } from '../storage/collection.js';
import { hasCode, Unchanged, updateRecord } from './job-queue-runtime.js';

/**
 * The record of an interrupted job that `resume` queues again (the in-process runner's and the
 * engine-backed queue's): `queued`, with one more attempt allowed than it used, so that the next
 * claim runs it as `attempt + 1` and a resumable handler (the trainer) continues from its last
 * checkpoint, and with no error, end time or retry delay left from the run that stopped.
 */
export function resumedJobRecord(current: Job): Job {
  return {
    ...current,
    status: 'queued',
    maxAttempts: Math.max(current.maxAttempts, current.attempt + 1),
    error: undefined,
    finishedAt: undefined,
    notBefore: undefined,
  };
}

/** How one queue decides and describes a resume, for {@link writeResumedJobRecord}. */
export interface ResumeRules {
  /** Whether the stored record may resume. */
  resumable(current: Job): boolean;
  /** Fields the queue sets besides {@link resumedJobRecord}'s (a lease cleared, a new engine job id). */
  fields: Partial<Job>;
  /** Why a `running` job is not resumed, for the error message. */
  running: string;
  /** Which jobs resume, for the error message ("a cancelled or failed job"). */
  resumes: string;
  /** Details added to the `JOB_NOT_RESUMABLE` error. */
  details?: Record<string, unknown>;
}

/**
 * Writes the {@link resumedJobRecord} of job `id` (with the queue's own `fields`) as one
 * compare-and-set, when `rules.resumable` accepts the stored record.
 *
 * @throws `JOB_NOT_FOUND`; `JOB_NOT_RESUMABLE` when the record may not resume (queued, running,
 * succeeded).
 */
export async function writeResumedJobRecord(
  runtime: { readonly records: Collection<Job> },
  id: string,
  rules: ResumeRules,
): Promise<Job> {
  try {
    return await updateRecord(runtime, id, (current) => {
      if (!rules.resumable(current)) throw new Unchanged(current);
      return { ...resumedJobRecord(current), ...rules.fields };
    });
  } catch (error) {
    if (hasCode(error, 'NOT_FOUND'))
      throw tunekitError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
    if (!(error instanceof Unchanged)) throw error;
    const status = error.current.status;
    throw tunekitError(
      'JOB_NOT_RESUMABLE',
      status === 'running'
        ? `Job ${id} is running; ${rules.running}`
        : `Job ${id} ${status === 'succeeded' ? 'already succeeded' : `is ${status}`}; only ${rules.resumes} resumes`,
      { jobId: id, status, ...rules.details },
    );
  }
}
