import type { Job } from '../schemas/job.js';
import type { Collection, CollectionPage } from '../storage/collection.js';
import type { JobListQuery } from './job-queue.js';

/**
 * A stored job with the live progress of the run this process holds for it: progress is persisted
 * throttled, so while the job runs here its latest progress, message and metrics are in memory.
 */
export function withLiveProgress(
  stored: Job | undefined,
  running: { job: Job } | undefined,
): Job | undefined {
  if (stored === undefined || running === undefined || stored.status !== 'running') return stored;
  return {
    ...stored,
    progress: running.job.progress,
    progressMessage: running.job.progressMessage,
    metrics: running.job.metrics,
  };
}

/** Job records matching a `JobQueue.list` query, newest first. */
export function listJobRecords(
  records: Collection<Job>,
  query: JobListQuery = {},
): Promise<CollectionPage<Job>> {
  const filter: Partial<Job> = {};
  if (query.kind !== undefined) filter.kind = query.kind;
  if (query.owner !== undefined) filter.owner = query.owner;
  if (query.status !== undefined) filter.status = query.status;
  return records.list({
    filter,
    sort: { field: 'createdAt', direction: 'desc' },
    limit: query.limit,
    cursor: query.cursor,
  });
}
