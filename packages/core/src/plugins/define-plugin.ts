import type { Tunekit } from '../kit/tunekit.js';
import type { Extensions } from './extension-points.js';
import type { ServiceKey } from './service-key.js';

/** What a plugin's `setup` receives. */
export interface PluginContext {
  /** The kit under construction (built-in services are ready; later plugins are not). */
  readonly kit: Tunekit;
  /** Makes a service available as `kit.get(key)`. */
  provide<T>(key: ServiceKey<T>, value: T): void;
  /** A service provided by a dependency (throws `SERVICE_MISSING`). */
  get<T>(key: ServiceKey<T>): T;
  /** Registers trainer backends, evaluators, trackers, embedders, routes … */
  readonly extensions: Extensions;
  /** The kit's event bus. */
  readonly events: Tunekit['events'];
  /** A logger bound to the plugin name. */
  readonly logger: Tunekit['logger'];
}

/** Returned by `setup` to undo it on `kit.close()`. */
export type PluginTeardown = () => void | Promise<void>;

/** A plugin definition. */
export interface TunekitPlugin {
  readonly name: string;
  readonly version?: string;
  /** Names of plugins that must be set up first. */
  readonly dependencies?: readonly string[];
  // biome-ignore lint/suspicious/noConfusingVoidType: setup functions that return nothing are the common case.
  setup(context: PluginContext): void | PluginTeardown | Promise<void | PluginTeardown>;
}

/** Declares a plugin (identity function that checks the shape at compile time). */
export function definePlugin(plugin: TunekitPlugin): TunekitPlugin {
  return plugin;
}
