import type { JobQueue } from '@tunekit/core';

/** What {@link countActiveJobs} counts. */
export interface ActiveJobsQuery {
  kind: string;
  /** Only this owner's jobs (default: everyone's). */
  owner?: string;
  /** Stop reading once this many are counted: a quota only needs to know whether it is reached. */
  stopAt: number;
}

/**
 * Counts the jobs of a kind that are `queued` or `running` (up to `stopAt`), as a job quota needs.
 * The two statuses are two reads, and a worker may claim a job between them: counted by id, a job
 * that moved from `queued` to `running` meanwhile counts once, not twice (twice refused a submit
 * below the quota with 429 while workers were taking jobs).
 */
export async function countActiveJobs(
  jobs: Pick<JobQueue, 'list'>,
  { kind, owner, stopAt }: ActiveJobsQuery,
): Promise<number> {
  const ids = new Set<string>();
  for (const status of ['queued', 'running'] as const) {
    if (ids.size >= stopAt) break;
    let read = 0;
    let cursor: string | undefined;
    do {
      const page = await jobs.list({ kind, status, owner, limit: 100, cursor });
      for (const job of page.items) ids.add(job.id);
      read += page.items.length;
      cursor = page.nextCursor;
    } while (cursor !== undefined && read < stopAt && ids.size < stopAt);
  }
  return ids.size;
}
