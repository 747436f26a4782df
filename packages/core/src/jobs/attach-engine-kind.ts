import type { EngineQueueRuntime } from './engine-queue-runtime.js';
import type { RegisteredKind } from './job-queue-runtime.js';
import { processEngineDelivery } from './process-engine-delivery.js';
import type { EngineEvent } from './queue-engine.js';

/**
 * Handles an event another process published through the engine: a `finished` job wakes the
 * pending `wait`s, and the progress of a job that runs elsewhere is emitted here as `job:progress`
 * (a job that runs in this process emitted its progress already), so a Server-Sent Events stream
 * on an API process follows a job on a worker.
 */
export function relayEngineEvent(runtime: EngineQueueRuntime, event: EngineEvent): void {
  if (event.type === 'finished') {
    for (const listener of runtime.finishedListeners) listener(event.jobId);
    return;
  }
  if (runtime.local.has(event.jobId)) return; // emitted here already
  runtime.events.emit('job:progress', {
    jobId: event.jobId,
    kind: event.kind,
    ...(event.attempt === undefined ? {} : { attempt: event.attempt }),
    progress: event.progress,
    message: event.message,
    metrics: event.metrics,
  });
}

/**
 * Whether this process runs jobs of `kind`: it works, the kind's concurrency is not 0, and the
 * queue's kind filter (`tunekit worker --kinds`) lets it through.
 */
export function runsKindHere(runtime: EngineQueueRuntime, kind: string, registered: RegisteredKind): boolean {
  return (
    runtime.work &&
    registered.options.concurrency !== 0 &&
    (runtime.kindFilter === undefined || runtime.kindFilter.has(kind))
  );
}

/**
 * Connects a registered kind to the engine: follows its events (relayed by
 * {@link relayEngineEvent}) and, when this process runs the kind, takes its deliveries with the
 * kind's concurrency capped by the process's.
 */
export async function attachEngineKind(
  runtime: EngineQueueRuntime,
  kind: string,
  registered: RegisteredKind,
): Promise<void> {
  runtime.unfollows.push(await runtime.engine.follow(kind, (event) => relayEngineEvent(runtime, event)));
  if (runsKindHere(runtime, kind, registered)) {
    await runtime.engine.work(
      kind,
      { concurrency: Math.min(runtime.concurrency, registered.options.concurrency ?? runtime.concurrency) },
      (delivery) => processEngineDelivery(runtime, delivery, registered),
    );
  }
}
