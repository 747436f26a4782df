import { RoleSchema, tunekitError, UserSchema } from '@tunekit/core';
import { z } from 'zod';
import { PasswordSchema, passwordIssues } from '../auth/password-policy.js';
import { PublicUserSchema, toPublicUser } from '../auth/public-user.js';
import { UpdateUserInputSchema } from '../auth/user-store.js';
import { PageQuerySchema, pageOf } from './common-schemas.js';
import { defineRoute } from './route-definition.js';

/** Path parameters `{username}`. */
export const UsernameParamsSchema = z.object({ username: UserSchema.shape.username });

/** `POST /users` body: a new user with a password that passes the password policy. */
export const CreateUserBodySchema = z
  .object({
    username: UserSchema.shape.username,
    password: PasswordSchema,
    roles: z
      .array(RoleSchema)
      .min(1)
      .refine((roles) => new Set(roles).size === roles.length, 'must not repeat a role'),
    displayName: z.string().min(1).max(200).optional(),
    email: z.email().optional(),
  })
  .strict()
  .superRefine((body, context) => {
    if (passwordIssues(body.password, body.username).includes('must not contain the username')) {
      context.addIssue({ code: 'custom', path: ['password'], message: 'must not contain the username' });
    }
  });

/** `POST /users/me/password` body. */
export const ChangePasswordBodySchema = z
  .object({
    currentPassword: z.string().min(1).max(1024),
    newPassword: PasswordSchema,
  })
  .strict();

/**
 * `POST /users/me/password` response: a fresh login token, since tokens issued before the change stop
 * working (the token fields are absent when the server signs no tokens, i.e. has no `jwtSecret`).
 */
export const ChangePasswordResponseSchema = z.object({
  username: z.string(),
  access_token: z.string().optional(),
  token_type: z.literal('bearer').optional(),
  expires_in: z.number().int().optional(),
});

/** `GET /users`: users in username order, without password hashes (admin). */
export const listUsersRoute = defineRoute({
  method: 'GET',
  path: '/users',
  operationId: 'listUsers',
  summary: 'List users (admin; password hashes are never returned)',
  tag: 'users',
  access: 'admin',
  query: PageQuerySchema,
  response: pageOf(PublicUserSchema),
  handler: async ({ server, query }) => {
    const page = await server.users.list(query);
    return { ...page, items: page.items.map(toPublicUser) };
  },
});

/** `POST /users`: creates a user (admin); 409 `USER_EXISTS` when the username is taken. */
export const createUserRoute = defineRoute({
  method: 'POST',
  path: '/users',
  operationId: 'createUser',
  summary: 'Create a user (admin)',
  tag: 'users',
  access: 'admin',
  body: CreateUserBodySchema,
  response: PublicUserSchema,
  status: 201,
  handler: async ({ server, body, operation, serviceAudited }) =>
    toPublicUser(await serviceAudited(server.users.create(body, operation), { failures: true })),
});

/**
 * `PATCH /users/{username}`: changes roles, disables or enables, renames (admin). Any change ends
 * the user's login tokens; a disabled user's API keys stop working too; 409 `LAST_ADMIN` when no
 * enabled admin would remain.
 */
export const updateUserRoute = defineRoute({
  method: 'PATCH',
  path: '/users/{username}',
  operationId: 'updateUser',
  summary: 'Change roles, disable or enable a user (admin)',
  tag: 'users',
  access: 'admin',
  params: UsernameParamsSchema,
  body: UpdateUserInputSchema,
  response: PublicUserSchema,
  handler: async ({ server, params, body, operation, serviceAudited }) =>
    toPublicUser(
      await serviceAudited(server.users.update(params.username, body, operation), { failures: true }),
    ),
});

/** `DELETE /users/{username}`: deletes a user (admin); 409 `LAST_ADMIN` for the last enabled admin. */
export const deleteUserRoute = defineRoute({
  method: 'DELETE',
  path: '/users/{username}',
  operationId: 'deleteUser',
  summary: 'Delete a user (admin; the last enabled admin cannot be deleted)',
  tag: 'users',
  access: 'admin',
  params: UsernameParamsSchema,
  response: z.object({ username: z.string(), deleted: z.literal(true) }),
  handler: async ({ server, params, operation, serviceAudited }) => {
    await serviceAudited(server.users.delete(params.username, operation), { failures: true });
    return { username: params.username, deleted: true as const };
  },
});

/**
 * `POST /users/me/password`: changes the caller's own password (any logged-in user). Needs the
 * current password (403 `CURRENT_PASSWORD_INCORRECT`), attempts are rate limited like logins, and
 * every login token issued before stops working; the response carries a fresh one.
 */
export const changeOwnPasswordRoute = defineRoute({
  method: 'POST',
  path: '/users/me/password',
  operationId: 'changeOwnPassword',
  summary: 'Change your own password (returns a new token; older tokens stop working)',
  tag: 'users',
  access: 'authenticated',
  body: ChangePasswordBodySchema,
  response: ChangePasswordResponseSchema,
  handler: async ({ server, principal, body, operation, serviceAudited }) => {
    const username = principal?.id ?? '';
    if (!(await server.users.get(username))) {
      throw tunekitError(
        'NOT_FOUND',
        `"${username}" is not a local user (API keys and identity-provider users have no password here)`,
      );
    }
    server.loginLimiter.hit(`password:${username}`);
    const user = await serviceAudited(
      server.users.changePassword(username, body.currentPassword, body.newPassword, operation),
      { failures: true },
    );
    if (!server.authenticator.signsTokens) return { username };
    const { token, expiresIn } = await server.authenticator.issueUserToken(user);
    return { username, access_token: token, token_type: 'bearer' as const, expires_in: expiresIn };
  },
});

/** User management routes. */
export const userRoutes = [
  listUsersRoute,
  createUserRoute,
  updateUserRoute,
  deleteUserRoute,
  changeOwnPasswordRoute,
];
