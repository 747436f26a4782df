import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { User } from '@tunekit/core';
import { passwordIssues } from '../auth/password-policy.js';
import type { UserStore } from '../auth/user-store.js';

/** File under the data directory that holds the generated JWT signing secret (mode 0600). */
export const JWT_SECRET_FILE = 'jwt-secret';

/** File under the data directory that holds the generated audit-chain key (mode 0600). */
export const AUDIT_KEY_FILE = 'audit-key';

/** Username of the admin `tunekit serve` creates on first run. */
export const FIRST_ADMIN_USERNAME = 'admin';

/** A secret stored in a data directory (JWT secret, audit key), and whether this call generated it. */
export interface StoredSecret {
  secret: string;
  created: boolean;
  /** The file it is stored in. */
  file: string;
}

/**
 * Reads `<dataDirectory>/jwt-secret`, generating it on first use: 32 random bytes (base64url), written
 * with mode 0600 so that only the owner can read it. A looser mode found later is tightened back.
 */
export async function ensureJwtSecret(dataDirectory: string): Promise<StoredSecret> {
  return ensureStoredSecret(join(dataDirectory, JWT_SECRET_FILE));
}

/**
 * Reads `<dataDirectory>/audit-key`, generating it on first use like the JWT secret (32 random bytes,
 * base64url, mode 0600): the HMAC key of the audit chain, kept in a file of its own outside the
 * database, so that someone who can write the database cannot re-key the chain.
 */
export async function ensureAuditKey(dataDirectory: string): Promise<StoredSecret> {
  return ensureStoredSecret(join(dataDirectory, AUDIT_KEY_FILE));
}

/**
 * Reads `<dataDirectory>/audit-key` without generating it: undefined when there is none (or it is
 * shorter than 32 characters). A looser mode than 0600 is tightened back.
 */
export async function readAuditKey(dataDirectory: string): Promise<string | undefined> {
  const file = join(dataDirectory, AUDIT_KEY_FILE);
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if ((await stat(file)).mode & 0o077) await chmod(file, 0o600);
    return key.length >= 32 ? key : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Reads the secret in `file`, generating it (32 random bytes, base64url, mode 0600) when missing or short. */
async function ensureStoredSecret(file: string): Promise<StoredSecret> {
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    if ((await stat(file)).mode & 0o077) await chmod(file, 0o600);
    if (secret.length >= 32) return { secret, created: false, file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { secret, created: true, file };
}

/** A random password that passes the password policy for `username` (about 120 bits). */
export function generatePassword(username: string): string {
  for (;;) {
    const password = randomBytes(15).toString('base64url');
    if (passwordIssues(password, username).length === 0) return password;
  }
}

/** The admin created on first run and its password (shown once, stored only as a scrypt hash). */
export interface FirstAdmin {
  user: User;
  password: string;
}

/**
 * Creates the `admin` user with a generated password when the store has no user at all (a fresh
 * data directory); undefined when users already exist.
 */
export async function createFirstAdmin(users: UserStore): Promise<FirstAdmin | undefined> {
  const page = await users.list({ limit: 1 });
  if (page.items.length > 0) return undefined;
  const password = generatePassword(FIRST_ADMIN_USERNAME);
  const user = await users.create(
    { username: FIRST_ADMIN_USERNAME, password, roles: ['admin'], displayName: 'Administrator' },
    { actor: 'tunekit-serve' },
  );
  return { user, password };
}
