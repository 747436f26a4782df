import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeStorageCompliance } from '../testing/describe-storage-compliance.js';
import { createStorage } from './create-storage.js';

describeStorageCompliance('memory', () => createStorage({ driver: 'memory' }), { persistent: false });

// A caller-supplied keyv instance (generic backend: keyv's iterator, re-read-and-compare updates).
const sharedMap = new Keyv({ namespace: 'shared' });
describeStorageCompliance('keyv instance (Map store)', () => createStorage({ keyv: sharedMap }), {
  persistent: true,
  atomicCompareAndSet: false,
});

/** A keyv store adapter that cannot enumerate its keys: collections fall back to an index key. */
class NonIterableStore {
  readonly entries = new Map<string, unknown>();
  namespace?: string;
  opts = { dialect: 'custom', url: 'custom://' };
  on() {
    return this;
  }
  async get(key: string) {
    return this.entries.get(key);
  }
  async set(key: string, value: unknown) {
    this.entries.set(key, value);
    return true;
  }
  async delete(key: string) {
    return this.entries.delete(key);
  }
  async clear() {
    this.entries.clear();
  }
}
const nonIterable = new NonIterableStore();
describeStorageCompliance(
  'keyv instance without iterator (index key)',
  () => createStorage({ keyv: new Keyv({ store: nonIterable }) }),
  { persistent: true, atomicCompareAndSet: false },
);

describe('createStorage options', () => {
  it('rejects unknown drivers and malformed options with VALIDATION_FAILED', async () => {
    await expect(createStorage({ driver: 'mongo' } as never)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(createStorage({ driver: 'redis', url: 'http://x' } as never)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(createStorage({ keyv: {} } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('the index-key fallback really is used by stores without an iterator', async () => {
    const store = new NonIterableStore();
    const storage = await createStorage({ keyv: new Keyv({ store }) });
    const things = storage.collection('things', z.object({ id: z.string() }));
    await things.set({ id: 'a' });
    await things.set({ id: 'b' });
    await things.delete('a');
    const indexKey = [...store.entries.keys()].find((key) => key.includes('__index__'));
    expect(indexKey).toBeDefined();
    expect(await things.count()).toBe(1);
  });

  it('reports an unreachable Redis as STORAGE_FAILED', async () => {
    await expect(
      createStorage({ driver: 'redis', url: 'redis://127.0.0.1:1', connectTimeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
    });
  });
});
