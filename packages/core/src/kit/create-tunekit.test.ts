import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TunekitError } from '../errors/tunekit-error.js';
import type { Logger } from '../logger/logger.js';
import { definePlugin } from '../plugins/define-plugin.js';
import { createServiceKey } from '../plugins/service-key.js';
import { createStorage } from '../storage/create-storage.js';
import { createTunekit } from './create-tunekit.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

async function temporaryDirectory() {
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-kit-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function rejection(promise: Promise<unknown>): Promise<TunekitError> {
  try {
    await promise;
  } catch (error) {
    expect(TunekitError.isInstance(error)).toBe(true);
    return error as TunekitError;
  }
  throw new Error('expected a rejection');
}

const NoteSchema = z.object({ id: z.string(), text: z.string(), version: z.number().default(0) });

describe('createTunekit', () => {
  it('without options uses memory storage and a temporary artifact folder that close() removes', async () => {
    const kit = await createTunekit();
    expect(kit.dataDirectory).toBeUndefined();
    expect(kit.plugins).toEqual([]);
    const info = await kit.artifacts.put('artifact://a/b.txt', 'hello');
    const path = kit.artifacts.localPath?.('artifact://a/b.txt');
    expect(info.size).toBe(5);
    expect(path).toBeDefined();
    expect(await exists(path as string)).toBe(true);
    await kit.storage.collection('notes', NoteSchema).set({ id: 'n1', text: 'x', version: 0 });
    await kit.close();
    expect(await exists(path as string)).toBe(false);
    const again = await createTunekit();
    expect(await again.storage.collection('notes', NoteSchema).get('n1')).toBeUndefined();
    await again.close();
  });

  it('with a data directory keeps SQLite records and artifacts across kits', async () => {
    const dataDirectory = await temporaryDirectory();
    const first = await createTunekit({ dataDirectory });
    await first.storage.collection('notes', NoteSchema).set({ id: 'n1', text: 'kept', version: 0 });
    await first.artifacts.put('artifact://kept.txt', 'bytes');
    first.jobs.register('echo', async (input) => input);
    const job = await first.jobs.submit('echo', { value: 1 });
    await first.jobs.wait(job.id);
    await first.close();
    expect(await exists(join(dataDirectory, 'tunekit.sqlite'))).toBe(true);
    expect(await exists(join(dataDirectory, 'artifacts'))).toBe(true);

    const second = await createTunekit({ dataDirectory });
    cleanups.push(() => second.close());
    expect(second.dataDirectory).toBe(dataDirectory);
    expect((await second.storage.collection('notes', NoteSchema).get('n1'))?.text).toBe('kept');
    expect(new TextDecoder().decode(await second.artifacts.get('artifact://kept.txt'))).toBe('bytes');
    expect(await second.jobs.get(job.id)).toMatchObject({ status: 'succeeded', output: { value: 1 } });
  });

  it('accepts a Storage instance, an ArtifactStore and { directory } for artifacts', async () => {
    const storage = await createStorage({ driver: 'memory' });
    const directory = await temporaryDirectory();
    const kit = await createTunekit({ storage, artifacts: { directory } });
    await kit.artifacts.put('artifact://x.bin', new Uint8Array([1, 2, 3]));
    expect(await exists(join(directory, 'x.bin'))).toBe(true);
    await kit.storage.collection('notes', NoteSchema).set({ id: 'n', text: 't', version: 0 });
    expect(await storage.collection('notes', NoteSchema).get('n')).toBeDefined();
    const reused = await createTunekit({ artifacts: kit.artifacts });
    expect(reused.artifacts).toBe(kit.artifacts);
    await reused.close();
    await kit.close();
  });

  it('rejects bad options with VALIDATION_FAILED naming each field', async () => {
    const error = await rejection(
      createTunekit({
        jobs: { concurrency: 0 },
        storage: { driver: 'mysql' },
        plugins: [{ name: '' }],
        logger: { info() {} },
        colour: 'blue',
      } as never),
    );
    expect(error.code).toBe('VALIDATION_FAILED');
    const paths = (error.details.issues as Array<{ path: string }>).map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining(['jobs.concurrency', 'storage', 'plugins.0', 'logger', '(root)']),
    );
    expect(error.message).toContain('plugins.0: must be a plugin with a non-empty name and a setup function');
  });

  it('sets plugins up in dependency order, exposes their services, tears down in reverse on close', async () => {
    const log: string[] = [];
    const GreeterKey = createServiceKey<{ greet(name: string): string }>('greeter');
    const plugin = (name: string, dependencies: string[] = []) =>
      definePlugin({
        name,
        dependencies,
        setup(context) {
          log.push(`setup:${name}:${context.kit.jobs !== undefined}`);
          if (name === 'greeter') {
            context.provide(GreeterKey, { greet: (who) => `hi ${who}` });
          }
          if (name === 'watcher') {
            context.events.on('kit:started', ({ plugins }) => log.push(`started:${plugins.join(',')}`));
            context.events.on('kit:closing', () => log.push('closing'));
          }
          return () => {
            log.push(`teardown:${name}`);
          };
        },
      });
    const kit = await createTunekit({
      plugins: [plugin('app', ['greeter']), plugin('watcher'), plugin('greeter')],
    });
    expect(kit.plugins).toEqual(['greeter', 'app', 'watcher']);
    expect(kit.get(GreeterKey).greet('ada')).toBe('hi ada');
    expect(kit.has(GreeterKey)).toBe(true);
    await kit.close();
    await kit.close();
    expect(log).toEqual([
      'setup:greeter:true',
      'setup:app:true',
      'setup:watcher:true',
      'started:greeter,app,watcher',
      'closing',
      'teardown:watcher',
      'teardown:app',
      'teardown:greeter',
    ]);
  });

  it('throws KIT_CLOSED after close', async () => {
    const kit = await createTunekit();
    kit.jobs.register('noop', async () => undefined);
    await kit.close();
    expect(() => kit.get(createServiceKey('anything'))).toThrow(
      expect.objectContaining({ code: 'KIT_CLOSED' }),
    );
    expect(() => kit.storage.collection('notes', NoteSchema)).toThrow(
      expect.objectContaining({ code: 'KIT_CLOSED' }),
    );
    expect((await rejection(kit.jobs.submit('noop', {}))).code).toBe('KIT_CLOSED');
  });

  it('rejects with the plugin error codes and closes what it opened', async () => {
    const dataDirectory = await temporaryDirectory();
    const cycle = await rejection(
      createTunekit({
        dataDirectory,
        plugins: [
          definePlugin({ name: 'a', dependencies: ['b'], setup() {} }),
          definePlugin({ name: 'b', dependencies: ['a'], setup() {} }),
        ],
      }),
    );
    expect(cycle.code).toBe('PLUGIN_CYCLE');
    expect(cycle.details.cycle).toEqual(['a', 'b', 'a']);
    const missing = await rejection(
      createTunekit({ plugins: [definePlugin({ name: 'server', dependencies: ['registry'], setup() {} })] }),
    );
    expect(missing.code).toBe('PLUGIN_MISSING_DEPENDENCY');
    const duplicate = await rejection(
      createTunekit({
        plugins: [definePlugin({ name: 'x', setup() {} }), definePlugin({ name: 'x', setup() {} })],
      }),
    );
    expect(duplicate.code).toBe('PLUGIN_DUPLICATE');

    const log: string[] = [];
    const failed = await rejection(
      createTunekit({
        dataDirectory,
        plugins: [
          definePlugin({ name: 'first', setup: () => () => void log.push('teardown:first') }),
          definePlugin({
            name: 'second',
            dependencies: ['first'],
            setup() {
              throw new Error('cannot connect');
            },
          }),
        ],
      }),
    );
    expect(failed.code).toBe('PLUGIN_SETUP_FAILED');
    expect(failed.details.plugin).toBe('second');
    expect((failed.cause as Error).message).toBe('cannot connect');
    expect(log).toEqual(['teardown:first']);
    // The SQLite file was closed: a new kit opens it and works.
    const kit = await createTunekit({ dataDirectory });
    await kit.storage.collection('notes', NoteSchema).set({ id: 'n', text: 't', version: 0 });
    await kit.close();
  });

  it('close() still closes storage when a teardown fails, then throws PLUGIN_TEARDOWN_FAILED', async () => {
    const dataDirectory = await temporaryDirectory();
    const kit = await createTunekit({
      dataDirectory,
      plugins: [
        definePlugin({
          name: 'stuck',
          setup: () => () => {
            throw new Error('port busy');
          },
        }),
      ],
    });
    const error = await rejection(kit.close());
    expect(error.code).toBe('PLUGIN_TEARDOWN_FAILED');
    expect(error.details.failures).toEqual([{ plugin: 'stuck', message: 'port busy' }]);
    expect(await rejection(kit.close())).toBe(error);
    const next = await createTunekit({ dataDirectory });
    await next.close();
  });

  it('close() aborts running jobs and leaves them for recovery by the next kit', async () => {
    const dataDirectory = await temporaryDirectory();
    const first = await createTunekit({ dataDirectory });
    let aborted = false;
    first.jobs.register('long', (_input, job) => {
      job.progress(0.5);
      return new Promise((_, reject) =>
        job.signal.addEventListener('abort', () => {
          aborted = true;
          reject(job.signal.reason);
        }),
      );
    });
    const job = await first.jobs.submit('long', {});
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first.close();
    expect(aborted).toBe(true);

    const second = await createTunekit({ dataDirectory });
    cleanups.push(() => second.close());
    expect((await second.jobs.get(job.id))?.status).toBe('running');
    second.jobs.register('long', async () => 'again', { requeueOnRecovery: true });
    expect(await second.jobs.wait(job.id)).toMatchObject({
      status: 'succeeded',
      output: 'again',
      attempt: 2,
    });
  });

  it('logs to the given logger (listener errors included)', async () => {
    const errors: string[] = [];
    const logger: Logger = {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (_object, message) => void errors.push(message ?? ''),
    };
    const kit = await createTunekit({ logger });
    kit.events.on('job:queued', () => {
      throw new Error('bad listener');
    });
    kit.jobs.register('noop', async () => undefined);
    const job = await kit.jobs.submit('noop', {});
    expect((await kit.jobs.wait(job.id)).status).toBe('succeeded');
    expect(errors).toEqual(['Listener of "job:queued" failed']);
    await kit.close();
  });
});
