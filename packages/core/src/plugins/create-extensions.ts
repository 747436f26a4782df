import { tunekitError } from '../errors/tunekit-error.js';
import type { ExtensionPointName, ExtensionPoints, Extensions } from './extension-points.js';

/**
 * Creates an empty registry of extensions (trainer backends, evaluators, trackers, embedders,
 * routes …), keyed by extension point and then by name. Listing keeps registration order.
 *
 * @example
 * ```ts
 * const extensions = createExtensions();
 * extensions.add('tracker', 'local', localTracker);
 * extensions.get('tracker', 'local');
 * ```
 */
export function createExtensions(): Extensions {
  const points = new Map<string, Map<string, unknown>>();
  const pointMap = (point: string) => {
    let names = points.get(point);
    if (names === undefined) {
      names = new Map();
      points.set(point, names);
    }
    return names;
  };
  return {
    add<P extends ExtensionPointName>(point: P, name: string, value: ExtensionPoints[P]) {
      if (typeof name !== 'string' || name.length === 0) {
        throw tunekitError('VALIDATION_FAILED', `An extension of "${point}" needs a non-empty name`, {
          point,
        });
      }
      const names = pointMap(point);
      if (names.has(name)) {
        throw tunekitError('CONFLICT', `An extension named "${name}" is already registered at "${point}"`, {
          point,
          name,
        });
      }
      names.set(name, value);
    },
    get<P extends ExtensionPointName>(point: P, name: string) {
      return points.get(point)?.get(name) as ExtensionPoints[P] | undefined;
    },
    list<P extends ExtensionPointName>(point: P) {
      return [...(points.get(point) ?? new Map<string, unknown>())].map(([name, value]) => ({
        name,
        value: value as ExtensionPoints[P],
      }));
    },
    remove<P extends ExtensionPointName>(point: P, name: string) {
      return points.get(point)?.delete(name) ?? false;
    },
  };
}
