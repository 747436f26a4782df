import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeStorageCompliance } from '../testing/describe-storage-compliance.js';
import {
  findPostgresBinaries,
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  startPostgresServer,
} from '../testing/start-postgres-server.js';
import { createStorage } from './create-storage.js';

const available = findPostgresBinaries() !== undefined;
if (!available) {
  console.warn(`PostgreSQL storage tests skipped: ${POSTGRES_SERVER_MISSING_REASON}`);
}
let postgres: PostgresTestServer | undefined;
beforeAll(async () => {
  postgres = await startPostgresServer();
});
afterAll(() => postgres?.stop());

const openPostgres = () => {
  if (postgres === undefined) {
    throw new Error(POSTGRES_SERVER_MISSING_REASON);
  }
  return createStorage({ driver: 'postgres', uri: postgres.uri });
};

describeStorageCompliance('postgres', openPostgres, {
  persistent: true,
  skipReason: available ? undefined : POSTGRES_SERVER_MISSING_REASON,
});

describe('postgres storage', () => {
  it.skipIf(!available)(
    `uses the named table and reports a wrong database as STORAGE_FAILED${available ? '' : ` (skipped: ${POSTGRES_SERVER_MISSING_REASON})`}`,
    async () => {
      const uri = (postgres as PostgresTestServer).uri;
      const storage = await createStorage({ driver: 'postgres', uri, table: 'tunekit_custom' });
      await storage.collection('things', z.object({ id: z.string() })).set({ id: 'a' });
      expect(await storage.collection('things', z.object({ id: z.string() })).count()).toBe(1);
      await storage.close();
      await expect(
        createStorage({ driver: 'postgres', uri: uri.replace(/\/postgres$/, '/no_such_database') }),
      ).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    },
  );
});
