import { tunekitError } from '@tunekit/core';
import { z } from 'zod';

/** Fewest characters of a password chosen through the API. */
export const MINIMUM_PASSWORD_LENGTH = 10;

/** Fewest different characters of a password chosen through the API (rejects `aaaaaaaaaa`, `1212121212`). */
export const MINIMUM_DISTINCT_CHARACTERS = 5;

/**
 * A password chosen through the API (new users, password changes): 10 to 1024 characters with at
 * least 5 different ones. Length over composition rules, as NIST SP 800-63B recommends; that it
 * must not contain the username is checked by {@link passwordIssues}, which knows the username.
 */
export const PasswordSchema = z
  .string()
  .min(MINIMUM_PASSWORD_LENGTH, `must have at least ${MINIMUM_PASSWORD_LENGTH} characters`)
  .max(1024, 'must have at most 1024 characters')
  .refine(
    (password) => new Set(password).size >= MINIMUM_DISTINCT_CHARACTERS,
    `must use at least ${MINIMUM_DISTINCT_CHARACTERS} different characters`,
  );

/** Why a password is too weak for a user (empty when it is acceptable). */
export function passwordIssues(password: string, username: string): string[] {
  const parsed = PasswordSchema.safeParse(password);
  const issues = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  if (password.toLowerCase().includes(username.toLowerCase())) issues.push('must not contain the username');
  return issues;
}

/** Throws `VALIDATION_FAILED` (400, `issues` on `field`) when the password is too weak for the user. */
export function assertStrongPassword(password: string, username: string, field = 'password'): void {
  const issues = passwordIssues(password, username);
  if (issues.length === 0) return;
  throw tunekitError('VALIDATION_FAILED', `Invalid ${field}: ${issues.join('; ')}`, {
    issues: issues.map((message) => ({ path: field, message })),
  });
}
