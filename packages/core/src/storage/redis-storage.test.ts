import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeStorageCompliance } from '../testing/describe-storage-compliance.js';
import {
  findRedisServer,
  REDIS_SERVER_MISSING_REASON,
  type RedisTestServer,
  startRedisServer,
} from '../testing/start-redis-server.js';
import { createStorage } from './create-storage.js';

const available = findRedisServer() !== undefined;
if (!available) {
  console.warn(`Redis storage tests skipped: ${REDIS_SERVER_MISSING_REASON}`);
}
let redis: RedisTestServer | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.stop());

const openRedis = () => {
  if (redis === undefined) {
    throw new Error(REDIS_SERVER_MISSING_REASON);
  }
  return createStorage({ driver: 'redis', url: redis.url });
};

describeStorageCompliance('redis', openRedis, {
  persistent: true,
  skipReason: available ? undefined : REDIS_SERVER_MISSING_REASON,
});

describe('redis storage', () => {
  it.skipIf(!available)(
    `lists with SCAN across many keys without duplicates${available ? '' : ` (skipped: ${REDIS_SERVER_MISSING_REASON})`}`,
    async () => {
      const storage = await openRedis();
      const things = storage.collection('scan_many', z.object({ id: z.string(), n: z.number() }));
      const other = storage.collection('scan_many_other', z.object({ id: z.string(), n: z.number() }));
      await Promise.all(Array.from({ length: 1200 }, (_, n) => things.set({ id: `t${n}`, n })));
      await Promise.all(Array.from({ length: 300 }, (_, n) => other.set({ id: `o${n}`, n })));
      expect(await things.count()).toBe(1200);
      const page = await things.list({ sort: { field: 'n', direction: 'desc' }, limit: 3 });
      expect(page.items.map((item) => item.n)).toEqual([1199, 1198, 1197]);
      await storage.close();
    },
  );
});
