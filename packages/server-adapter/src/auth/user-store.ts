import { randomUUID } from 'node:crypto';
import {
  createAuditRecorder,
  type OperationContext,
  parseOrThrow,
  type Role,
  RoleSchema,
  type Tunekit,
  TunekitError,
  tunekitError,
  type User,
  UserSchema,
} from '@tunekit/core';
import { z } from 'zod';
import { hashPassword, verifyPassword } from './password-hash.js';
import { assertStrongPassword } from './password-policy.js';

/** Name of the users collection in the kit's storage. */
export const USERS_COLLECTION = 'users';

/** Input of {@link UserStore.create}. */
export const CreateUserInputSchema = z
  .object({
    username: UserSchema.shape.username,
    password: z.string().min(8).max(1024),
    roles: z.array(RoleSchema).min(1),
    displayName: z.string().min(1).max(200).optional(),
    email: z.email().optional(),
  })
  .strict();

/** Input of {@link UserStore.create}. */
export type CreateUserInput = z.infer<typeof CreateUserInputSchema>;

/** Input of {@link UserStore.update}: what an admin may change on a user (at least one field). */
export const UpdateUserInputSchema = z
  .object({
    /** Replaces the roles. */
    roles: z
      .array(RoleSchema)
      .min(1)
      .refine((roles) => new Set(roles).size === roles.length, 'must not repeat a role')
      .optional(),
    /** A disabled user cannot log in; its tokens and API keys stop working at once. */
    disabled: z.boolean().optional(),
    displayName: z.string().min(1).max(200).optional(),
    email: z.email().optional(),
  })
  .strict()
  .refine((input) => Object.values(input).some((value) => value !== undefined), {
    message: 'must change at least one of roles, disabled, displayName, email',
  });

/** Input of {@link UserStore.update}. */
export type UpdateUserInput = z.infer<typeof UpdateUserInputSchema>;

/** A page of users in username order. */
export interface UserPage {
  items: User[];
  nextCursor?: string;
}

/**
 * Server users with scrypt-hashed passwords, stored in the kit's storage (collection `users`).
 * Mutations take the caller's `OperationContext` and write one audit event each (`user.create`,
 * `user.update`, `user.delete`, `user.password.change`), on success and on failure.
 */
export interface UserStore {
  /** Creates a user (the id is the username); `USER_EXISTS` (409) when the name is taken. */
  create(input: CreateUserInput, context?: OperationContext): Promise<User>;
  get(username: string): Promise<User | undefined>;
  /** Users in username order, `limit` (default 50) at a time. */
  list(query?: { limit?: number; cursor?: string }): Promise<UserPage>;
  /**
   * Changes roles, disabled, display name or email; `NOT_FOUND` for an unknown user, `LAST_ADMIN`
   * (409) when it would disable or demote the last enabled admin.
   */
  update(username: string, input: UpdateUserInput, context?: OperationContext): Promise<User>;
  /** Deletes a user; `NOT_FOUND` for an unknown user, `LAST_ADMIN` (409) for the last enabled admin. */
  delete(username: string, context?: OperationContext): Promise<void>;
  /**
   * Replaces a password after checking the current one (`CURRENT_PASSWORD_INCORRECT`, 403); the new
   * one must pass the password policy and differ from the current one. Like every update of a user,
   * it revokes the login tokens issued before (see the authenticator's `cred` claim).
   */
  changePassword(
    username: string,
    currentPassword: string,
    newPassword: string,
    context?: OperationContext,
  ): Promise<User>;
  /** The user when the password matches and the user is enabled, else undefined (same timing either way). */
  verify(username: string, password: string): Promise<User | undefined>;
}

function isEnabledAdmin(user: Pick<User, 'roles' | 'disabled'> | undefined): boolean {
  return user !== undefined && !user.disabled && user.roles.includes('admin');
}

function notFound(username: string): TunekitError {
  return tunekitError('NOT_FOUND', `No user "${username}"`, { username });
}

/** Creates the user store on the kit's storage; its audit events go to `kit.audit`. */
export function createUserStore(kit: Tunekit): UserStore {
  const users = kit.storage.collection(USERS_COLLECTION, UserSchema);
  // Verified for unknown user names, so a missing user costs as long as a wrong password.
  let dummyHash: Promise<string> | undefined;
  // User mutations run one at a time in this process, so that two concurrent removals cannot both
  // see another admin left (across processes sharing a store, the last-admin check can still race).
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const audit = createAuditRecorder({
    sink: kit.audit,
    source: 'users',
    logger: kit.logger,
    events: kit.events,
  });
  // Entries name the user; a failure records the error's code alone, a wrong current password is
  // `denied`. Each mutation runs in the queue above.
  const audited = <T>(
    action: string,
    username: string,
    context: OperationContext | undefined,
    work: () => Promise<T>,
    details?: (result: T) => Record<string, unknown>,
  ): Promise<T> =>
    audit.run(
      {
        action,
        resourceType: 'user',
        resourceId: username,
        details,
        failure: {
          outcome: (error) =>
            TunekitError.isInstance(error) && error.code === 'CURRENT_PASSWORD_INCORRECT'
              ? 'denied'
              : 'failure',
          codeOnly: true,
        },
      },
      context,
      () => exclusive(work),
    );

  const requireUser = async (username: string): Promise<User> => {
    const user = await users.get(username);
    if (!user) throw notFound(username);
    return user;
  };

  /** Throws `LAST_ADMIN` when `user` is an enabled admin, `after` is not, and no other enabled admin exists. */
  const assertAdminRemains = async (user: User, after: User | undefined, change: string) => {
    if (!isEnabledAdmin(user) || isEnabledAdmin(after)) return;
    const others = await users.count((candidate) => candidate.id !== user.id && isEnabledAdmin(candidate));
    if (others === 0) {
      throw tunekitError(
        'LAST_ADMIN',
        `Refusing to ${change} "${user.username}": it is the last enabled admin`,
        { username: user.username },
      );
    }
  };

  return {
    create(raw, context) {
      const username = typeof raw?.username === 'string' ? raw.username : '(invalid)';
      return audited(
        'user.create',
        username,
        context,
        async () => {
          const input = parseOrThrow(CreateUserInputSchema, raw, 'user');
          if (await users.get(input.username)) {
            throw tunekitError('USER_EXISTS', `User "${input.username}" already exists`, {
              username: input.username,
            });
          }
          const user: User = UserSchema.parse({
            id: input.username,
            username: input.username,
            displayName: input.displayName,
            email: input.email,
            passwordHash: await hashPassword(input.password),
            roles: [...new Set<Role>(input.roles)],
            disabled: false,
            createdAt: new Date().toISOString(),
          });
          return users.set(user);
        },
        (user) => ({ roles: user.roles }),
      );
    },

    get: (username) => users.get(username),

    async list(query = {}) {
      const page = await users.list({
        sort: { field: 'username', direction: 'asc' },
        limit: query.limit ?? 50,
        cursor: query.cursor,
      });
      return page.nextCursor === undefined ? { items: page.items } : page;
    },

    update(username, raw, context) {
      return audited(
        'user.update',
        username,
        context,
        async () => {
          const input = parseOrThrow(UpdateUserInputSchema, raw, 'user update');
          const changes = Object.fromEntries(
            Object.entries(input).filter(([, value]) => value !== undefined),
          ) as Partial<User>;
          const current = await requireUser(username);
          await assertAdminRemains(
            current,
            { ...current, ...changes },
            input.disabled ? 'disable' : 'demote',
          );
          return users.update(username, (stored) => ({
            ...stored,
            ...changes,
            updatedAt: new Date().toISOString(),
          }));
        },
        (user) => ({ roles: user.roles, disabled: user.disabled }),
      );
    },

    delete(username, context) {
      return audited('user.delete', username, context, async () => {
        const current = await requireUser(username);
        await assertAdminRemains(current, undefined, 'delete');
        await users.delete(username);
      });
    },

    changePassword(username, currentPassword, newPassword, context) {
      return audited('user.password.change', username, context, async () => {
        const current = await requireUser(username);
        if (
          current.disabled ||
          !current.passwordHash ||
          !(await verifyPassword(currentPassword, current.passwordHash))
        ) {
          throw tunekitError('CURRENT_PASSWORD_INCORRECT', 'The current password is wrong');
        }
        assertStrongPassword(newPassword, username, 'newPassword');
        if (await verifyPassword(newPassword, current.passwordHash)) {
          throw tunekitError(
            'VALIDATION_FAILED',
            'Invalid newPassword: must differ from the current password',
            { issues: [{ path: 'newPassword', message: 'must differ from the current password' }] },
          );
        }
        const passwordHash = await hashPassword(newPassword);
        return users.update(username, (stored) => ({
          ...stored,
          passwordHash,
          updatedAt: new Date().toISOString(),
        }));
      });
    },

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
