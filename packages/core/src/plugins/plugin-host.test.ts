import { describe, expect, it } from 'vitest';
import { TunekitError } from '../errors/tunekit-error.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { Tunekit } from '../kit/tunekit.js';
import { createSilentLogger } from '../logger/logger.js';
import { createExtensions } from './create-extensions.js';
import { definePlugin, type TunekitPlugin } from './define-plugin.js';
import { createPluginHost, orderPlugins } from './plugin-host.js';
import { createServiceKey } from './service-key.js';

// Points of this test only, declared the way a package declares the points it consumes.
declare module './extension-points.js' {
  interface ExtensionPoints {
    testGreeter: { greet(name: string): string };
    testRoute: { method: string; path: string };
  }
}

const kit = {} as Tunekit;

function host(plugins: TunekitPlugin[]) {
  return createPluginHost({
    plugins,
    extensions: createExtensions(),
    events: createEventBus(),
    logger: createSilentLogger(),
  });
}

function plain(name: string, dependencies: string[] = [], log?: string[]): TunekitPlugin {
  return definePlugin({
    name,
    dependencies,
    setup() {
      log?.push(`setup:${name}`);
      return () => {
        log?.push(`teardown:${name}`);
      };
    },
  });
}

async function caught(action: () => unknown): Promise<TunekitError> {
  try {
    await action();
  } catch (error) {
    expect(TunekitError.isInstance(error)).toBe(true);
    return error as TunekitError;
  }
  throw new Error('expected a TunekitError');
}

describe('orderPlugins', () => {
  it('puts dependencies first and keeps registration order otherwise', () => {
    const order = orderPlugins([
      plain('server', ['registry', 'auth']),
      plain('metrics'),
      plain('registry', ['embedder']),
      plain('auth'),
      plain('embedder'),
    ]).map((plugin) => plugin.name);
    expect(order).toEqual(['embedder', 'registry', 'auth', 'server', 'metrics']);
  });

  it('throws PLUGIN_DUPLICATE naming the plugin', async () => {
    const error = await caught(() => orderPlugins([plain('a'), plain('b'), plain('a')]));
    expect(error.code).toBe('PLUGIN_DUPLICATE');
    expect(error.message).toContain('"a"');
    expect(error.details.plugin).toBe('a');
  });

  it('throws PLUGIN_MISSING_DEPENDENCY naming the plugin and what it lacks', async () => {
    const error = await caught(() => orderPlugins([plain('a'), plain('server', ['registry', 'a', 'auth'])]));
    expect(error.code).toBe('PLUGIN_MISSING_DEPENDENCY');
    expect(error.message).toBe('Plugin "server" depends on "registry", "auth", which are not registered');
    expect(error.details).toEqual({ plugin: 'server', missing: ['registry', 'auth'] });
  });

  it('throws PLUGIN_CYCLE with the cycle path, including a self-dependency', async () => {
    const error = await caught(() =>
      orderPlugins([plain('x'), plain('a', ['b']), plain('b', ['c']), plain('c', ['a'])]),
    );
    expect(error.code).toBe('PLUGIN_CYCLE');
    expect(error.details.cycle).toEqual(['a', 'b', 'c', 'a']);
    expect(error.message).toContain('a -> b -> c -> a');
    const self = await caught(() => orderPlugins([plain('me', ['me'])]));
    expect(self.code).toBe('PLUGIN_CYCLE');
    expect(self.details.cycle).toEqual(['me', 'me']);
  });
});

describe('createPluginHost', () => {
  it('sets up in dependency order, shares typed services, tears down in reverse', async () => {
    const log: string[] = [];
    const CounterKey = createServiceKey<{ next(): number }>('counter');
    let count = 0;
    const provider = definePlugin({
      name: 'provider',
      setup(context) {
        log.push('setup:provider');
        context.provide(CounterKey, { next: () => ++count });
        return () => {
          log.push('teardown:provider');
        };
      },
    });
    const consumer = definePlugin({
      name: 'consumer',
      dependencies: ['provider'],
      async setup(context) {
        log.push(`setup:consumer:${context.get(CounterKey).next()}`);
        return async () => {
          log.push('teardown:consumer');
        };
      },
    });
    const pluginHost = host([consumer, plain('noTeardown'), provider]);
    expect(pluginHost.has(CounterKey)).toBe(false);
    await pluginHost.start(kit);
    expect(pluginHost.order).toEqual(['provider', 'consumer', 'noTeardown']);
    expect(pluginHost.get(CounterKey).next()).toBe(2);
    await pluginHost.stop();
    await pluginHost.stop();
    expect(log).toEqual(['setup:provider', 'setup:consumer:1', 'teardown:consumer', 'teardown:provider']);
  });

  it('start rejects ordering errors before any setup runs', async () => {
    const log: string[] = [];
    const error = await caught(() => host([plain('a', [], log), plain('b', ['c'], log)]).start(kit));
    expect(error.code).toBe('PLUGIN_MISSING_DEPENDENCY');
    expect(log).toEqual([]);
  });

  it('a failing setup tears down the plugins set up so far and throws PLUGIN_SETUP_FAILED with cause', async () => {
    const log: string[] = [];
    const cause = new Error('no GPU');
    const broken = definePlugin({
      name: 'broken',
      dependencies: ['b'],
      setup() {
        throw cause;
      },
    });
    const error = await caught(() =>
      host([plain('a', [], log), plain('b', ['a'], log), broken, plain('after', ['broken'], log)]).start(kit),
    );
    expect(error.code).toBe('PLUGIN_SETUP_FAILED');
    expect(error.message).toBe('Setup of plugin "broken" failed: no GPU');
    expect(error.details.plugin).toBe('broken');
    expect(error.cause).toBe(cause);
    expect(log).toEqual(['setup:a', 'setup:b', 'teardown:b', 'teardown:a']);
  });

  it('teardown continues past failures in reverse order, then throws PLUGIN_TEARDOWN_FAILED aggregating them', async () => {
    const log: string[] = [];
    const failing = (name: string, dependencies: string[]) =>
      definePlugin({
        name,
        dependencies,
        setup: () => () => {
          log.push(`teardown:${name}`);
          throw new Error(`${name} stuck`);
        },
      });
    const pluginHost = host([
      plain('a', [], log),
      failing('b', ['a']),
      plain('c', ['b'], log),
      failing('d', ['c']),
    ]);
    await pluginHost.start(kit);
    const error = await caught(() => pluginHost.stop());
    expect(error.code).toBe('PLUGIN_TEARDOWN_FAILED');
    expect(log).toEqual(['setup:a', 'setup:c', 'teardown:d', 'teardown:c', 'teardown:b', 'teardown:a']);
    expect(error.details.failures).toEqual([
      { plugin: 'd', message: 'd stuck' },
      { plugin: 'b', message: 'b stuck' },
    ]);
    expect(error.cause).toBeInstanceOf(AggregateError);
    expect((error.cause as AggregateError).errors).toHaveLength(2);
  });

  it('throws SERVICE_DUPLICATE and SERVICE_MISSING naming the service', async () => {
    const Key = createServiceKey<string>('registry');
    const first = definePlugin({ name: 'first', setup: (context) => context.provide(Key, 'one') });
    const second = definePlugin({ name: 'second', setup: (context) => context.provide(Key, 'two') });
    const duplicate = await caught(() => host([first, second]).start(kit));
    expect(duplicate.code).toBe('PLUGIN_SETUP_FAILED');
    const inner = duplicate.cause as TunekitError;
    expect(inner.code).toBe('SERVICE_DUPLICATE');
    expect(inner.message).toContain('"registry" is already provided by "first"');
    expect(inner.details).toMatchObject({ service: 'registry', providedBy: 'first', duplicateBy: 'second' });

    const missing = await caught(() => host([]).get(createServiceKey<number>('nothing')));
    expect(missing.code).toBe('SERVICE_MISSING');
    expect(missing.details.service).toBe('nothing');
  });

  it('gives plugins the extensions, the event bus and a logger', async () => {
    const extensions = createExtensions();
    const events = createEventBus();
    const received: string[] = [];
    const pluginHost = createPluginHost({
      plugins: [
        definePlugin({
          name: 'listener',
          setup(context) {
            context.extensions.add('testGreeter', 'fake', { greet: (name) => `hello ${name}` });
            context.logger.info({}, 'hello');
            return context.events.on('job:queued', ({ jobId }) => received.push(jobId));
          },
        }),
      ],
      extensions,
      events,
      logger: createSilentLogger(),
    });
    await pluginHost.start(kit);
    events.emit('job:queued', { jobId: 'j1', kind: 'k' });
    expect(extensions.get('testGreeter', 'fake')?.greet('ada')).toBe('hello ada');
    await pluginHost.stop();
    events.emit('job:queued', { jobId: 'j2', kind: 'k' });
    expect(received).toEqual(['j1']);
  });
});

describe('createExtensions', () => {
  it('adds, lists in order, removes, and rejects a taken name with CONFLICT', async () => {
    const extensions = createExtensions();
    const route = (path: string) => ({ method: 'GET', path });
    extensions.add('testRoute', 'b', route('/b'));
    extensions.add('testRoute', 'a', route('/a'));
    expect(extensions.list('testRoute').map((entry) => entry.name)).toEqual(['b', 'a']);
    expect(extensions.list('tracker')).toEqual([]);
    const conflict = await caught(() => extensions.add('testRoute', 'a', route('/other')));
    expect(conflict.code).toBe('CONFLICT');
    expect(extensions.remove('testRoute', 'a')).toBe(true);
    expect(extensions.remove('testRoute', 'a')).toBe(false);
    expect(extensions.get('testRoute', 'a')).toBeUndefined();
  });
});
