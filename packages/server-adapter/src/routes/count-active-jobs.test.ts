import type { Job, JobListQuery, JobQueue } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { countActiveJobs } from './count-active-jobs.js';

const job = (id: string, status: Job['status']): Job =>
  ({ id, kind: 'train', status, owner: 'alice', createdAt: '2026-12-07T00:00:00.000Z' }) as Job;

/** A job list over records that `afterRead` may change after each read (workers claiming jobs). */
function listOf(
  records: Job[],
  afterRead: (records: Job[]) => void = () => undefined,
): Pick<JobQueue, 'list'> {
  return {
    async list(query: JobListQuery = {}) {
      const matching = records.filter(
        (record) =>
          record.status === query.status &&
          (query.owner === undefined || record.owner === query.owner) &&
          record.kind === query.kind,
      );
      const start = Number(query.cursor ?? 0);
      const limit = query.limit ?? 100;
      const items = matching.slice(start, start + limit);
      afterRead(records);
      return { items, nextCursor: start + limit < matching.length ? String(start + limit) : undefined };
    },
  };
}

describe('countActiveJobs', () => {
  it('counts queued and running jobs of the kind and owner', async () => {
    const records = [job('a', 'queued'), job('b', 'running'), job('c', 'succeeded'), job('d', 'cancelled')];
    records.push({ ...job('e', 'queued'), owner: 'bob' });
    const jobs = listOf(records);
    expect(await countActiveJobs(jobs, { kind: 'train', owner: 'alice', stopAt: 10 })).toBe(2);
    expect(await countActiveJobs(jobs, { kind: 'train', stopAt: 10 })).toBe(3);
  });

  it('counts a job that a worker claims between the two reads once (it was counted twice: a 429 below the quota)', async () => {
    const records = [job('a', 'running'), job('b', 'queued'), job('c', 'queued')];
    let reads = 0;
    // After the read of queued jobs, a worker claims `b`: the read of running jobs sees it again.
    const jobs = listOf(records, (current) => {
      reads += 1;
      if (reads === 1) current[1] = job('b', 'running');
    });
    expect(await countActiveJobs(jobs, { kind: 'train', owner: 'alice', stopAt: 10 })).toBe(3);
  });

  it('stops reading pages once the count reaches stopAt', async () => {
    const records = Array.from({ length: 250 }, (_, index) => job(`q${index}`, 'queued'));
    let reads = 0;
    const jobs = listOf(records, () => {
      reads += 1;
    });
    expect(await countActiveJobs(jobs, { kind: 'train', stopAt: 5 })).toBeGreaterThanOrEqual(5);
    // One page of queued jobs, already past the limit: running ones are not read.
    expect(reads).toBe(1);
  });
});
