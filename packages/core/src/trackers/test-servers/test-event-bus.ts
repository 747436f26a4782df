import { createEventBus } from '../../events/create-event-bus.js';
import type { EventBus } from '../../events/event-bus.js';
import type { TunekitEventMap } from '../../events/tunekit-event-map.js';

/** The kit's event bus, with every `warning:raised` payload collected in `warnings` (for tests). */
export function createTestBus(): EventBus & { warnings: TunekitEventMap['warning:raised'][] } {
  const bus = createEventBus();
  const warnings: TunekitEventMap['warning:raised'][] = [];
  bus.on('warning:raised', (payload) => {
    warnings.push(payload);
  });
  return Object.assign(bus, { warnings });
}
