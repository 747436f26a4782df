import { describe, expect, it } from 'vitest';
import { describeRunnerProcess, hasLeaseLapsed, isProcessAlive } from './job-lease.js';

const self = { namespace: 'boot-1/pid:[1]', pid: 100 };

describe('hasLeaseLapsed', () => {
  it('counts a missing or expired lease as lapsed, a live one as held', () => {
    expect(hasLeaseLapsed({}, { now: 1_000 })).toBe(true);
    expect(hasLeaseLapsed({ leaseExpiresAt: 1_000 }, { now: 1_000 })).toBe(true);
    expect(hasLeaseLapsed({ leaseExpiresAt: 1_001 }, { now: 1_000 })).toBe(false);
  });

  it('counts a live lease of a process that is gone as lapsed, only within the same PID namespace', () => {
    const job = { leaseExpiresAt: 9_999, runnerProcess: { namespace: self.namespace, pid: 7 } };
    const dead = () => false;
    expect(hasLeaseLapsed(job, { now: 1_000, self, isAlive: dead })).toBe(true);
    expect(hasLeaseLapsed(job, { now: 1_000, self, isAlive: () => true })).toBe(false);
    // Another machine or container: its PIDs mean nothing here.
    expect(
      hasLeaseLapsed(job, { now: 1_000, self: { ...self, namespace: 'boot-2/pid:[1]' }, isAlive: dead }),
    ).toBe(false);
    // Not knowing our own namespace (not Linux), or the holder's: wait for the lease.
    expect(hasLeaseLapsed(job, { now: 1_000, isAlive: dead })).toBe(false);
    expect(hasLeaseLapsed({ leaseExpiresAt: 9_999 }, { now: 1_000, self, isAlive: dead })).toBe(false);
  });
});

describe('runner process', () => {
  it('describes this process on Linux and tells live PIDs from gone ones', () => {
    const described = describeRunnerProcess();
    if (process.platform === 'linux') {
      expect(described).toMatchObject({ pid: process.pid });
      expect(described?.namespace).toMatch(/^[0-9a-f-]+\/pid:\[\d+\]$/);
    } else {
      expect(described).toBeUndefined();
    }
    expect(isProcessAlive(process.pid)).toBe(true);
    // Above Linux's largest pid_max (2^22), so no process has it.
    expect(isProcessAlive(2 ** 22 + 1)).toBe(false);
  });
});
