import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { tunekitError } from '@tunekit/core';

/** scrypt cost parameters of new hashes (N = 2^14, r = 8, p = 1: about 16 MiB and 30–60 ms). */
export const SCRYPT_PARAMETERS = { logN: 14, blockSize: 8, parallelization: 1, keyLength: 32 } as const;

function scryptAsync(password: string, salt: Buffer, keyLength: number, logN: number, r: number, p: number) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, keyLength, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** Hashes a password with scrypt into a PHC string: `$scrypt$ln=14,r=8,p=1$<salt b64>$<hash b64>`. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < 8 || password.length > 1024) {
    throw tunekitError('VALIDATION_FAILED', 'A password must have 8 to 1024 characters', {
      issues: [{ path: 'password', message: 'must have 8 to 1024 characters' }],
    });
  }
  const { logN, blockSize, parallelization, keyLength } = SCRYPT_PARAMETERS;
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, keyLength, logN, blockSize, parallelization);
  return `$scrypt$ln=${logN},r=${blockSize},p=${parallelization}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Checks a password against a PHC scrypt hash in constant time; false for any other hash format. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash);
  if (!match) return false;
  const [, logN, r, p, salt, expected] = match as unknown as [string, string, string, string, string, string];
  const expectedKey = Buffer.from(expected, 'base64url');
  if (Number(logN) > 20 || expectedKey.length < 16) return false;
  const key = await scryptAsync(
    password,
    Buffer.from(salt, 'base64url'),
    expectedKey.length,
    Number(logN),
    Number(r),
    Number(p),
  );
  return timingSafeEqual(key, expectedKey);
}
