import { readFileSync, readlinkSync } from 'node:fs';
import type { Job } from '../schemas/job.js';

/**
 * Identifies the process of a job runner: `namespace` names the PID namespace of one machine boot
 * (Linux boot id + PID namespace inode), so two runners with the same `namespace` see the same PIDs.
 */
export interface RunnerProcess {
  namespace: string;
  pid: number;
}

/**
 * Describes this process for {@link hasLeaseLapsed}, or returns undefined where the PID namespace
 * cannot be told apart (every platform but Linux, or a Linux without `/proc`). Without it a crashed
 * runner's jobs are recovered only once their lease lapses.
 */
export function describeRunnerProcess(): RunnerProcess | undefined {
  if (process.platform !== 'linux') {
    return undefined;
  }
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    if (bootId.length === 0 || pidNamespace.length === 0) {
      return undefined;
    }
    return { namespace: `${bootId}/${pidNamespace}`, pid: process.pid };
  } catch {
    return undefined;
  }
}

/** Whether a process with this PID exists in this PID namespace (a process of another user counts). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** What {@link hasLeaseLapsed} compares a running job's lease with. */
export interface LeaseCheck {
  /** Epoch ms. */
  now: number;
  /** The checking runner's process, from {@link describeRunnerProcess}. */
  self?: RunnerProcess;
  /** Tells whether a PID is alive (default {@link isProcessAlive}). */
  isAlive?: (pid: number) => boolean;
}

/**
 * Whether the runner holding a `running` job has lost it: the record has no lease (written by a
 * version without leases), its lease expired, or it was written by a process of the checker's own PID
 * namespace that no longer exists (a crashed process on the same machine, recovered at once).
 */
export function hasLeaseLapsed(
  job: Pick<Job, 'leaseExpiresAt' | 'runnerProcess'>,
  check: LeaseCheck,
): boolean {
  if (job.leaseExpiresAt === undefined || job.leaseExpiresAt <= check.now) {
    return true;
  }
  const holder = job.runnerProcess;
  return (
    holder !== undefined &&
    check.self !== undefined &&
    holder.namespace === check.self.namespace &&
    !(check.isAlive ?? isProcessAlive)(holder.pid)
  );
}
