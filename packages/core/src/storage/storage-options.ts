import type { Keyv } from 'keyv';
import { z } from 'zod';

/** In-process storage that forgets everything on close (tests, throwaway kits). */
export const MemoryStorageOptionsSchema = z.object({ driver: z.literal('memory') }).strict();

/** An embedded SQLite file through `@keyv/sqlite` (the default when the kit has a data directory). */
export const SqliteStorageOptionsSchema = z
  .object({
    driver: z.literal('sqlite'),
    /** Path of the database file (created when missing), or `:memory:`. */
    path: z.string().min(1),
    /** Table name (default `tunekit`). */
    table: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain SQL identifier')
      .optional(),
  })
  .strict();

/** A Redis server through `@keyv/redis` (several processes share state). */
export const RedisStorageOptionsSchema = z
  .object({
    driver: z.literal('redis'),
    /** `redis://host:port[/db]` URL. */
    url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
    /** How long to wait for the first connection before failing with `STORAGE_FAILED` (default 5000). */
    connectTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

/** A PostgreSQL database through `@keyv/postgres` (several processes share state). */
export const PostgresStorageOptionsSchema = z
  .object({
    driver: z.literal('postgres'),
    /** `postgresql://user@host:port/database` connection URI. */
    uri: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://'),
    /** Table name (default `tunekit`). */
    table: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain SQL identifier')
      .optional(),
  })
  .strict();

/** Any keyv instance the caller built (another adapter, custom serializer, shared store). */
export const KeyvStorageOptionsSchema = z
  .object({
    keyv: z.custom<Keyv>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Keyv).get === 'function' &&
        typeof (value as Keyv).set === 'function' &&
        typeof (value as Keyv).delete === 'function',
      'must be a Keyv instance',
    ),
  })
  .strict();

/**
 * Options of {@link createStorage}: a built-in driver, or a ready keyv instance.
 *
 * @example
 * ```ts
 * await createStorage({ driver: 'sqlite', path: './data/tunekit.sqlite' });
 * await createStorage({ keyv: new Keyv(new KeyvMongo(uri)) });
 * ```
 */
export const StorageOptionsSchema = z.union([
  MemoryStorageOptionsSchema,
  SqliteStorageOptionsSchema,
  RedisStorageOptionsSchema,
  PostgresStorageOptionsSchema,
  KeyvStorageOptionsSchema,
]);

/** Options of {@link createStorage}. */
export type StorageOptions = z.infer<typeof StorageOptionsSchema>;
