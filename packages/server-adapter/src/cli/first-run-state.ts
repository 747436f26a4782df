import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { User } from '@tunekit/core';
import { passwordIssues } from '../auth/password-policy.js';
import type { UserStore } from '../auth/user-store.js';

/** File under the data directory that holds the generated JWT signing secret (mode 0600). */
export const JWT_SECRET_FILE = 'jwt-secret';

/** Username of the admin `tunekit serve` creates on first run. */
export const FIRST_ADMIN_USERNAME = 'admin';

/** The JWT secret of a data directory, and whether this call generated it. */
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
  const file = join(dataDirectory, JWT_SECRET_FILE);
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
