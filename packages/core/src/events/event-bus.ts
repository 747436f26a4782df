import type { TunekitEventMap, TunekitEventName } from './tunekit-event-map.js';

/** A listener of one event. */
export type EventListener<N extends TunekitEventName> = (payload: TunekitEventMap[N]) => void;

/** One event as yielded by {@link EventBus.iterate}. */
export interface EventEnvelope<N extends TunekitEventName = TunekitEventName> {
  name: N;
  payload: TunekitEventMap[N];
  /** ISO time the event was emitted. */
  time: string;
}

/** The kit's typed event bus (eventemitter3 underneath). Listener errors never reach the emitter. */
export interface EventBus {
  on<N extends TunekitEventName>(name: N, listener: EventListener<N>): () => void;
  once<N extends TunekitEventName>(name: N, listener: EventListener<N>): () => void;
  off<N extends TunekitEventName>(name: N, listener: EventListener<N>): void;
  emit<N extends TunekitEventName>(name: N, payload: TunekitEventMap[N]): void;
  /** Listens to every event. Returns the unsubscribe function. */
  onAny(listener: (envelope: EventEnvelope) => void): () => void;
  /** Async iterator over the given events (all when omitted) until the signal aborts. */
  iterate<N extends TunekitEventName>(
    names?: readonly N[],
    options?: { signal?: AbortSignal },
  ): AsyncIterableIterator<EventEnvelope<N>>;
}
