/**
 * A typed key for a service that a plugin provides and others consume.
 *
 * ```ts
 * export const RegistryKey = createServiceKey<ModelRegistry>('registry');
 * ctx.provide(RegistryKey, registry);   // in the plugin
 * kit.get(RegistryKey).register(...);   // typed as ModelRegistry
 * ```
 */
export interface ServiceKey<T> {
  readonly id: string;
  /** Phantom field carrying the type; never set. */
  readonly __type?: T;
}

/** Creates a typed service key. Keys with the same id are the same service. */
export function createServiceKey<T>(id: string): ServiceKey<T> {
  return Object.freeze({ id }) as ServiceKey<T>;
}
