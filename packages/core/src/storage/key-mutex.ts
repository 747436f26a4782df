/**
 * Serializes async work per key within one process: `run(key, task)` waits until every task
 * queued earlier for the same key has settled. Keys with nothing queued hold no memory.
 */
export interface KeyMutex {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/** Creates a {@link KeyMutex} (one per storage instance; no global state). */
export function createKeyMutex(): KeyMutex {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(task, task);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) {
          tails.delete(key);
        }
      });
      return result;
    },
  };
}
