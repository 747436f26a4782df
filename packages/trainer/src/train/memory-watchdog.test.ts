import { describe, expect, it } from 'vitest';
import { jobMemoryLimitError, startMemoryWatchdog } from './memory-watchdog.js';
import { watchInThreadMemory } from './watch-in-thread-memory.js';

/**
 * Buffers kept until the file ends: a buffer freed by one test and collected while the next one
 * allocates would cancel that growth out.
 */
const held: Buffer[] = [];

/** Grows resident memory: a kept buffer whose every page is written. */
function touchMebibytes(mebibytes: number): void {
  held.push(Buffer.alloc(mebibytes * 1024 * 1024, 1));
}

describe('memory watchdog', () => {
  it('calls onExceeded once, with the growth, when resident memory grew past the limit', () => {
    const calls: number[] = [];
    const watchdog = startMemoryWatchdog({ limitMb: 16, onExceeded: (grown) => calls.push(grown) });
    watchdog.check();
    expect(calls).toEqual([]);
    touchMebibytes(48);
    watchdog.check();
    watchdog.check();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeGreaterThan(16);
    watchdog.stop();
  });

  it('names the measurement and the limit in a JOB_MEMORY_LIMIT error', () => {
    const error = jobMemoryLimitError(8, 12.34, 'resident memory', 'the worker was stopped');
    expect(error).toMatchObject({
      code: 'JOB_MEMORY_LIMIT',
      status: 422,
      message:
        'The training job used 12.3 MiB (resident memory), more than its memory limit of 8 MiB: the worker was stopped',
      details: { limitMb: 8, measuredMb: 12.3, source: 'resident memory' },
    });
  });

  it('in-thread: aborts the run signal past the limit and keeps the caller’s cancel', () => {
    const caller = new AbortController();
    const unlimited = watchInThreadMemory(undefined, caller.signal);
    expect(unlimited.signal).toBe(caller.signal);
    const watch = watchInThreadMemory(16, caller.signal);
    watch.check();
    expect(watch.signal?.aborted).toBe(false);
    touchMebibytes(48);
    watch.check();
    expect(watch.signal?.aborted).toBe(true);
    expect(watch.exceeded()).toMatchObject({
      code: 'JOB_MEMORY_LIMIT',
      details: { source: 'resident memory' },
    });
    expect(watch.exceeded()?.message).toMatch(/: training stopped at its next step$/);
    watch.stop();
    const cancelled = watchInThreadMemory(1024, caller.signal);
    caller.abort();
    expect(cancelled.signal?.aborted).toBe(true);
    expect(cancelled.exceeded()).toBeUndefined();
    cancelled.stop();
  });
});
