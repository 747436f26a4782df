import type { ErrorCodes } from '../errors/error-codes.js';
import { tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { Tunekit } from '../kit/tunekit.js';
import type { Logger } from '../logger/logger.js';
import type { PluginContext, PluginTeardown, TunekitPlugin } from './define-plugin.js';
import type { Extensions } from './extension-points.js';
import type { ServiceKey } from './service-key.js';

/** Options of {@link createPluginHost}. */
export interface PluginHostOptions {
  /** Plugins in registration order (the tie-breaker of the setup order). */
  plugins: readonly TunekitPlugin[];
  extensions: Extensions;
  events: EventBus;
  logger: Logger;
}

/**
 * Runs plugins: orders them by dependencies, calls their `setup` with a {@link PluginContext},
 * holds the services they provide, and tears them down in reverse order.
 */
export interface PluginHost {
  /** Plugin names in setup order (empty until {@link PluginHost.start}). */
  readonly order: readonly string[];
  /** Registers a service (built-in services use this too); throws `SERVICE_DUPLICATE`. */
  provide<T>(key: ServiceKey<T>, value: T, providedBy?: string): void;
  /** The service under `key`; throws `SERVICE_MISSING`. */
  get<T>(key: ServiceKey<T>): T;
  has(key: ServiceKey<unknown>): boolean;
  /**
   * Orders and sets up every plugin. Throws `PLUGIN_DUPLICATE`, `PLUGIN_MISSING_DEPENDENCY` or
   * `PLUGIN_CYCLE` before any setup runs; when a setup throws, tears down the plugins already set up
   * (reverse order) and throws `PLUGIN_SETUP_FAILED` with the original error as cause.
   */
  start(kit: Tunekit): Promise<void>;
  /**
   * Runs every teardown in reverse setup order, continuing past failures, then throws
   * `PLUGIN_TEARDOWN_FAILED` listing the failures (`details.failures`). Idempotent.
   */
  stop(): Promise<void>;
}

function pluginError(
  code: keyof typeof ErrorCodes,
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
) {
  return tunekitError(code, message, details, { cause });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Orders plugins so that each comes after its dependencies; among independent plugins the
 * registration order is kept. Throws a coded {@link TunekitError} naming the plugins involved:
 * `PLUGIN_DUPLICATE` (two plugins share a name), `PLUGIN_MISSING_DEPENDENCY` (`details.plugin`,
 * `details.missing`) or `PLUGIN_CYCLE` (`details.cycle`, e.g. `['a', 'b', 'a']`).
 */
export function orderPlugins(plugins: readonly TunekitPlugin[]): TunekitPlugin[] {
  const byName = new Map<string, TunekitPlugin>();
  for (const plugin of plugins) {
    if (typeof plugin?.name !== 'string' || plugin.name.length === 0 || typeof plugin.setup !== 'function') {
      throw pluginError('VALIDATION_FAILED', 'A plugin needs a non-empty `name` and a `setup` function', {
        plugin: plugin?.name,
      });
    }
    if (byName.has(plugin.name)) {
      throw pluginError('PLUGIN_DUPLICATE', `Two plugins are named "${plugin.name}"`, {
        plugin: plugin.name,
      });
    }
    byName.set(plugin.name, plugin);
  }
  for (const plugin of plugins) {
    const missing = (plugin.dependencies ?? []).filter((dependency) => !byName.has(dependency));
    if (missing.length > 0) {
      throw pluginError(
        'PLUGIN_MISSING_DEPENDENCY',
        `Plugin "${plugin.name}" depends on ${missing.map((name) => `"${name}"`).join(', ')}, which ${
          missing.length === 1 ? 'is' : 'are'
        } not registered`,
        { plugin: plugin.name, missing },
      );
    }
  }
  const ordered: TunekitPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (plugin: TunekitPlugin) => {
    const current = state.get(plugin.name);
    if (current === 'done') {
      return;
    }
    if (current === 'visiting') {
      const cycle = [...path.slice(path.indexOf(plugin.name)), plugin.name];
      throw pluginError('PLUGIN_CYCLE', `Plugin dependencies form a cycle: ${cycle.join(' -> ')}`, { cycle });
    }
    state.set(plugin.name, 'visiting');
    path.push(plugin.name);
    for (const dependency of plugin.dependencies ?? []) {
      visit(byName.get(dependency) as TunekitPlugin);
    }
    path.pop();
    state.set(plugin.name, 'done');
    ordered.push(plugin);
  };
  for (const plugin of plugins) {
    visit(plugin);
  }
  return ordered;
}

/**
 * Creates the host that runs a kit's plugins.
 *
 * @example
 * ```ts
 * const host = createPluginHost({ plugins, extensions, events, logger });
 * await host.start(kit);   // setup in dependency order
 * host.get(RegistryKey);   // a service a plugin provided
 * await host.stop();       // teardowns in reverse order
 * ```
 */
export function createPluginHost(options: PluginHostOptions): PluginHost {
  const services = new Map<string, { value: unknown; providedBy?: string }>();
  const teardowns: Array<{ plugin: string; teardown: PluginTeardown }> = [];
  const order: string[] = [];
  let started = false;
  let stopping: Promise<void> | undefined;

  const provide = <T>(key: ServiceKey<T>, value: T, providedBy?: string) => {
    const existing = services.get(key.id);
    if (existing !== undefined) {
      throw pluginError(
        'SERVICE_DUPLICATE',
        `Service "${key.id}" is already provided${existing.providedBy ? ` by "${existing.providedBy}"` : ''}${
          providedBy ? `; plugin "${providedBy}" provides it again` : ''
        }`,
        { service: key.id, providedBy: existing.providedBy, duplicateBy: providedBy },
      );
    }
    services.set(key.id, { value, providedBy });
  };

  const get = <T>(key: ServiceKey<T>): T => {
    const entry = services.get(key.id);
    if (entry === undefined) {
      throw pluginError(
        'SERVICE_MISSING',
        `No service "${key.id}" is provided; register the plugin that provides it (and list it in \`dependencies\`)`,
        { service: key.id },
      );
    }
    return entry.value as T;
  };

  const runTeardowns = async (): Promise<Array<{ plugin: string; error: unknown }>> => {
    const failures: Array<{ plugin: string; error: unknown }> = [];
    while (teardowns.length > 0) {
      const { plugin, teardown } = teardowns.pop() as { plugin: string; teardown: PluginTeardown };
      try {
        await teardown();
      } catch (error) {
        options.logger.error({ err: error, plugin }, `Teardown of plugin "${plugin}" failed`);
        failures.push({ plugin, error });
      }
    }
    return failures;
  };

  return {
    order,
    provide,
    get,
    has: (key) => services.has(key.id),
    async start(kit: Tunekit) {
      if (started) {
        throw pluginError('INTERNAL', 'The plugin host was already started', {});
      }
      started = true;
      const ordered = orderPlugins(options.plugins);
      for (const plugin of ordered) {
        const logger = options.logger.child?.({ plugin: plugin.name }) ?? options.logger;
        const context: PluginContext = {
          kit,
          provide: (key, value) => provide(key, value, plugin.name),
          get,
          extensions: options.extensions,
          events: options.events,
          logger,
        };
        try {
          const teardown = await plugin.setup(context);
          if (typeof teardown === 'function') {
            teardowns.push({ plugin: plugin.name, teardown });
          }
        } catch (error) {
          const rollbackFailures = await runTeardowns();
          throw pluginError(
            'PLUGIN_SETUP_FAILED',
            `Setup of plugin "${plugin.name}" failed: ${errorMessage(error)}`,
            {
              plugin: plugin.name,
              tornDown: [...order].reverse(),
              teardownFailures: rollbackFailures.map((failure) => ({
                plugin: failure.plugin,
                message: errorMessage(failure.error),
              })),
            },
            error,
          );
        }
        order.push(plugin.name);
        logger.debug({ plugin: plugin.name, version: plugin.version }, 'Plugin set up');
      }
    },
    stop() {
      stopping ??= (async () => {
        const failures = await runTeardowns();
        services.clear();
        if (failures.length > 0) {
          throw pluginError(
            'PLUGIN_TEARDOWN_FAILED',
            `Teardown failed for ${failures
              .map((failure) => `"${failure.plugin}" (${errorMessage(failure.error)})`)
              .join(', ')}`,
            {
              failures: failures.map((failure) => ({
                plugin: failure.plugin,
                message: errorMessage(failure.error),
              })),
            },
            new AggregateError(
              failures.map((failure) => failure.error),
              'Plugin teardowns failed',
            ),
          );
        }
      })();
      return stopping;
    },
  };
}
