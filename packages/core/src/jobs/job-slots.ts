/** A counting semaphore: how many jobs one process runs at once, across kinds. */
export interface JobSlots {
  /** Resolves once a slot is free (at once when one is), and takes it. */
  acquire(): Promise<void>;
  /** Frees a slot, handing it to the longest waiter if there is one. */
  release(): void;
}

/** Creates {@link JobSlots} with `limit` slots; waiters are served in order of arrival. */
export function createJobSlots(limit: number): JobSlots {
  let used = 0;
  const waiting: Array<() => void> = [];
  return {
    acquire(): Promise<void> {
      if (used < limit) {
        used += 1;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else used -= 1;
    },
  };
}
