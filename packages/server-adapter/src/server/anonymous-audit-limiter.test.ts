import { describe, expect, it } from 'vitest';
import { createAnonymousAuditLimiter } from './anonymous-audit-limiter.js';

describe('anonymous audit limiter', () => {
  it('records the budget, then counts; the next window writes one summary', () => {
    let time = 0;
    const limiter = createAnonymousAuditLimiter(2, () => time);
    const kinds = [1, 2, 3, 4].map(() => limiter.admit('203.0.113.1').kind);
    expect(kinds).toEqual(['record', 'record', 'suppress', 'suppress']);
    time = 60_000;
    expect(limiter.admit('203.0.113.1')).toMatchObject({ kind: 'summary', suppressed: 2 });
  });

  it('flushes the count of a window that ended without another failure, once', () => {
    let time = 0;
    const limiter = createAnonymousAuditLimiter(1, () => time);
    limiter.admit('a');
    limiter.admit('a', { action: 'http.submitTraining' });
    limiter.admit('a', { action: 'http.uploadDataset' });
    // The window is still open: nothing to flush yet (unless everything is asked for).
    expect(limiter.flush()).toEqual([]);
    time = 61_000;
    expect(limiter.flush()).toEqual([
      {
        address: 'a',
        suppressed: 2,
        since: new Date(0).toISOString(),
        latest: { action: 'http.uploadDataset' },
      },
    ]);
    expect(limiter.flush()).toEqual([]);
    // The address starts afresh: no second summary for the same failures.
    expect(limiter.admit('a').kind).toBe('record');
  });

  it('flushes open windows at shutdown without resetting their budget', () => {
    const limiter = createAnonymousAuditLimiter(1, () => 0);
    limiter.admit('a');
    limiter.admit('a');
    expect(limiter.flush(true)).toMatchObject([{ address: 'a', suppressed: 1 }]);
    expect(limiter.admit('a').kind).toBe('suppress');
  });
});
