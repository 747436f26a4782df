import { tunekitError } from '../errors/tunekit-error.js';

/**
 * Kit properties that plugins provide, with the plugin that provides each: reading one without
 * its plugin is a `SERVICE_MISSING` error that names the plugin to add (instead of `undefined` and
 * a `TypeError` one line later). A plugin that provides the property replaces the hint.
 */
export const PLUGIN_SERVICE_HINTS: Readonly<Record<string, { plugin: string; from: string }>> = Object.freeze(
  {
    registry: { plugin: 'registryPlugin()', from: '@tunekit/registry' },
  },
);

/** Defines, on `kit`, a getter per {@link PLUGIN_SERVICE_HINTS} entry that throws `SERVICE_MISSING`. */
export function installPluginServiceHints(kit: object): void {
  for (const [property, hint] of Object.entries(PLUGIN_SERVICE_HINTS)) {
    Object.defineProperty(kit, property, {
      configurable: true,
      enumerable: false,
      get() {
        throw tunekitError(
          'SERVICE_MISSING',
          `kit.${property} needs the ${property} plugin: add ${hint.plugin} from ${hint.from} to createTunekit({ plugins: [...] })`,
          { service: property, plugin: hint.plugin, package: hint.from },
        );
      },
    });
  }
}
