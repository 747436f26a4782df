import { EventEmitter } from 'eventemitter3';
import type { EventBus } from '../../events/event-bus.js';
import type { TunekitEventMap } from '../../events/tunekit-event-map.js';

/** A minimal typed bus over eventemitter3 (the kit's bus implementation lives elsewhere). */
export function createTestBus(): EventBus & { warnings: TunekitEventMap['warning:raised'][] } {
  const emitter = new EventEmitter();
  const warnings: TunekitEventMap['warning:raised'][] = [];
  emitter.on('warning:raised', (payload: TunekitEventMap['warning:raised']) => warnings.push(payload));
  return {
    warnings,
    on: (name, listener) => {
      emitter.on(name, listener);
      return () => emitter.off(name, listener);
    },
    once: (name, listener) => {
      emitter.once(name, listener);
      return () => emitter.off(name, listener);
    },
    off: (name, listener) => void emitter.off(name, listener),
    emit: (name, payload) => void emitter.emit(name, payload),
    onAny: () => () => {},
    iterate: () => {
      throw new Error('not used');
    },
  } as EventBus & { warnings: TunekitEventMap['warning:raised'][] };
}
