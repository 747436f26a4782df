import { type User, UserSchema } from '@tunekit/core';
import { z } from 'zod';

/** A user as the API shows it: the stored record without its password hash or storage version. */
export const PublicUserSchema = UserSchema.omit({ passwordHash: true, version: true }).extend({
  /** Whether the user has a password (false for users who sign in through an identity provider). */
  hasPassword: z.boolean(),
});

/** A user as the API shows it. */
export type PublicUser = z.infer<typeof PublicUserSchema>;

/** The public view of a stored user: copies the allowed fields, so a hash can never leak through a spread. */
export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    username: user.username,
    ...(user.displayName !== undefined ? { displayName: user.displayName } : {}),
    ...(user.email !== undefined ? { email: user.email } : {}),
    roles: user.roles,
    disabled: user.disabled,
    createdAt: user.createdAt,
    ...(user.updatedAt !== undefined ? { updatedAt: user.updatedAt } : {}),
    hasPassword: user.passwordHash !== undefined,
  };
}
