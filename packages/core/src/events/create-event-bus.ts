import { EventEmitter } from 'eventemitter3';
import type { Logger } from '../logger/logger.js';
import { createSilentLogger } from '../logger/logger.js';
import type { EventBus, EventEnvelope, EventListener } from './event-bus.js';
import type { TunekitEventMap, TunekitEventName } from './tunekit-event-map.js';

/** Options of {@link createEventBus}. */
export interface EventBusOptions {
  /** Where listener errors are logged (silent by default). */
  logger?: Logger;
  /**
   * Most events an {@link EventBus.iterate} iterator buffers while its consumer is slow; beyond it
   * the oldest are dropped and a warning is logged (default 10 000).
   */
  iteratorBufferLimit?: number;
}

type AnyListener = (payload: unknown) => void;
type EnvelopeListener = (envelope: EventEnvelope) => void;

/**
 * Creates the kit's typed event bus on eventemitter3.
 *
 * A listener that throws (or returns a rejected promise) is logged and never breaks `emit` or the
 * other listeners. `iterate` turns events into an async iterator that buffers events until they
 * are consumed and ends when its AbortSignal aborts.
 *
 * @example
 * ```ts
 * const events = createEventBus();
 * const off = events.on('job:progress', ({ jobId, progress }) => console.log(jobId, progress));
 * for await (const { name, payload } of events.iterate(['job:succeeded'], { signal })) { … }
 * ```
 */
export function createEventBus(options: EventBusOptions = {}): EventBus {
  const logger = options.logger ?? createSilentLogger();
  const bufferLimit = options.iteratorBufferLimit ?? 10_000;
  const emitter = new EventEmitter();
  const anyListeners = new Set<EnvelopeListener>();
  // Wrapped listeners by original, per event, so that `off(name, original)` works.
  const wrappers = new Map<string, Map<AnyListener, AnyListener[]>>();

  const reportListenerError = (name: string, error: unknown) => {
    logger.error({ err: error, event: name }, `Listener of "${name}" failed`);
  };

  const invoke = (name: string, call: () => unknown) => {
    try {
      const result = call();
      if (
        result !== null &&
        typeof result === 'object' &&
        typeof (result as Promise<unknown>).then === 'function'
      ) {
        (result as Promise<unknown>).then(undefined, (error: unknown) => reportListenerError(name, error));
      }
    } catch (error) {
      reportListenerError(name, error);
    }
  };

  const rememberWrapper = (name: string, original: AnyListener, wrapper: AnyListener) => {
    let byOriginal = wrappers.get(name);
    if (byOriginal === undefined) {
      byOriginal = new Map();
      wrappers.set(name, byOriginal);
    }
    const list = byOriginal.get(original) ?? [];
    list.push(wrapper);
    byOriginal.set(original, list);
  };

  const forgetWrapper = (name: string, original: AnyListener, wrapper: AnyListener) => {
    const byOriginal = wrappers.get(name);
    const list = byOriginal?.get(original);
    if (byOriginal === undefined || list === undefined) {
      return;
    }
    const index = list.indexOf(wrapper);
    if (index >= 0) {
      list.splice(index, 1);
    }
    if (list.length === 0) {
      byOriginal.delete(original);
    }
  };

  const subscribe = (name: string, listener: AnyListener, once: boolean): (() => void) => {
    let removed = false;
    const wrapper: AnyListener = (payload) => {
      if (once) {
        remove();
      }
      invoke(name, () => listener(payload));
    };
    const remove = () => {
      if (removed) {
        return;
      }
      removed = true;
      emitter.off(name, wrapper);
      forgetWrapper(name, listener, wrapper);
    };
    rememberWrapper(name, listener, wrapper);
    emitter.on(name, wrapper);
    return remove;
  };

  const bus: EventBus = {
    on<N extends TunekitEventName>(name: N, listener: EventListener<N>) {
      return subscribe(name, listener as AnyListener, false);
    },
    once<N extends TunekitEventName>(name: N, listener: EventListener<N>) {
      return subscribe(name, listener as AnyListener, true);
    },
    off<N extends TunekitEventName>(name: N, listener: EventListener<N>) {
      const list = wrappers.get(name)?.get(listener as AnyListener);
      const wrapper = list?.[0];
      if (wrapper !== undefined) {
        emitter.off(name, wrapper);
        forgetWrapper(name, listener as AnyListener, wrapper);
      }
    },
    emit<N extends TunekitEventName>(name: N, payload: TunekitEventMap[N]) {
      emitter.emit(name, payload);
      if (anyListeners.size > 0) {
        const envelope: EventEnvelope = { name, payload, time: new Date().toISOString() };
        for (const listener of [...anyListeners]) {
          invoke(name, () => listener(envelope));
        }
      }
    },
    onAny(listener: EnvelopeListener) {
      anyListeners.add(listener);
      return () => {
        anyListeners.delete(listener);
      };
    },
    iterate<N extends TunekitEventName>(
      names?: readonly N[],
      iterateOptions: { signal?: AbortSignal } = {},
    ): AsyncIterableIterator<EventEnvelope<N>> {
      const signal = iterateOptions.signal;
      const wanted = names === undefined || names.length === 0 ? undefined : new Set<string>(names);
      const buffer: EventEnvelope<N>[] = [];
      let pending: ((result: IteratorResult<EventEnvelope<N>>) => void) | undefined;
      let done = false;
      let warnedOverflow = false;

      const finish = () => {
        if (done) {
          return;
        }
        done = true;
        unsubscribe();
        signal?.removeEventListener('abort', finish);
        buffer.length = 0;
        if (pending !== undefined) {
          const resolve = pending;
          pending = undefined;
          resolve({ value: undefined, done: true });
        }
      };

      const unsubscribe = bus.onAny((envelope) => {
        if (done || (wanted !== undefined && !wanted.has(envelope.name))) {
          return;
        }
        const typed = envelope as EventEnvelope<N>;
        if (pending !== undefined) {
          const resolve = pending;
          pending = undefined;
          resolve({ value: typed, done: false });
          return;
        }
        buffer.push(typed);
        if (buffer.length > bufferLimit) {
          buffer.shift();
          if (!warnedOverflow) {
            warnedOverflow = true;
            logger.warn({ limit: bufferLimit }, 'Event iterator buffer full; dropping the oldest events');
          }
        }
      });

      if (signal?.aborted) {
        finish();
      } else {
        signal?.addEventListener('abort', finish, { once: true });
      }

      const iterator: AsyncIterableIterator<EventEnvelope<N>> = {
        next() {
          const next = buffer.shift();
          if (next !== undefined) {
            return Promise.resolve({ value: next, done: false });
          }
          if (done) {
            return Promise.resolve({ value: undefined, done: true });
          }
          return new Promise((resolve) => {
            pending = resolve;
          });
        },
        return() {
          finish();
          return Promise.resolve({ value: undefined, done: true });
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  };
  return bus;
}
