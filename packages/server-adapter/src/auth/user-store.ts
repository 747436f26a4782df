import { randomUUID } from 'node:crypto';
import {
  parseOrThrow,
  type Role,
  RoleSchema,
  type Tunekit,
  TunekitError,
  type User,
  UserSchema,
} from '@tunekit/core';
import { z } from 'zod';
import { hashPassword, verifyPassword } from './password-hash.js';

/** Name of the users collection in the kit's storage. */
export const USERS_COLLECTION = 'users';

/** Input of {@link UserStore.create}. */
export const CreateUserInputSchema = z
  .object({
    username: UserSchema.shape.username,
    password: z.string().min(8).max(1024),
    roles: z.array(RoleSchema).min(1),
    displayName: z.string().min(1).max(200).optional(),
  })
  .strict();

/** Input of {@link UserStore.create}. */
export type CreateUserInput = z.infer<typeof CreateUserInputSchema>;

/** Server users with scrypt-hashed passwords, stored in the kit's storage (collection `users`). */
export interface UserStore {
  /** Creates a user (the id is the username); `CONFLICT` when the name is taken. */
  create(input: CreateUserInput): Promise<User>;
  get(username: string): Promise<User | undefined>;
  /** The user when the password matches and the user is enabled, else undefined (same timing either way). */
  verify(username: string, password: string): Promise<User | undefined>;
}

/** Creates the user store on the kit's storage. */
export function createUserStore(kit: Tunekit): UserStore {
  const users = kit.storage.collection(USERS_COLLECTION, UserSchema);
  // Verified for unknown user names, so a missing user costs as long as a wrong password.
  let dummyHash: Promise<string> | undefined;
  return {
    async create(raw) {
      const input = parseOrThrow(CreateUserInputSchema, raw, 'user');
      if (await users.get(input.username)) {
        throw new TunekitError({
          code: 'CONFLICT',
          status: 409,
          message: `User "${input.username}" already exists`,
        });
      }
      const user: User = UserSchema.parse({
        id: input.username,
        username: input.username,
        displayName: input.displayName,
        passwordHash: await hashPassword(input.password),
        roles: [...new Set<Role>(input.roles)],
        disabled: false,
        createdAt: new Date().toISOString(),
      });
      await users.set(user);
      return user;
    },
    get: (username) => users.get(username),
    async verify(username, password) {
      const user = /^[a-z0-9][a-z0-9._-]{2,63}$/.test(username) ? await users.get(username) : undefined;
      if (!user?.passwordHash) {
        dummyHash ??= hashPassword(randomUUID());
        await verifyPassword(password, await dummyHash);
        return undefined;
      }
      const valid = await verifyPassword(password, user.passwordHash);
      return valid && !user.disabled ? user : undefined;
    },
  };
}
