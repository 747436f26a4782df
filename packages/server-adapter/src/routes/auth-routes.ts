import { type Permission, RoleSchema, tunekitError } from '@tunekit/core';
import { z } from 'zod';
import { defineRoute } from './route-definition.js';

/** `POST /auth/login` body. */
export const LoginBodySchema = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

/**
 * `POST /auth/login`: exchanges a username and password for a bearer token (public; failed attempts
 * are limited per client address and per account, see `limits.login`).
 */
export const loginRoute = defineRoute({
  method: 'POST',
  path: '/auth/login',
  operationId: 'login',
  summary: 'Log in with username and password; returns a bearer token',
  tag: 'auth',
  access: 'public',
  body: LoginBodySchema,
  response: z.object({
    access_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int(),
    roles: z.array(RoleSchema),
  }),
  handler: async ({ server, body, operation }) => {
    // Failed attempts are limited per address and per account: a flood from one address cannot
    // lock out other accounts behind it, and guessing one account's password from many addresses stops.
    const address = operation.ip ?? 'unknown';
    const account = body.username.toLowerCase();
    server.loginLimiter.check(address);
    server.accountLoginLimiter.check(account);
    const user = await server.users.verify(body.username, body.password);
    if (!user) {
      server.loginLimiter.record(address);
      server.accountLoginLimiter.record(account);
      operation.actor = body.username.slice(0, 64);
      throw tunekitError('UNAUTHENTICATED', 'Wrong username or password');
    }
    operation.actor = user.id;
    const { token, expiresIn } = await server.authenticator.issueUserToken(user);
    return { access_token: token, token_type: 'bearer' as const, expires_in: expiresIn, roles: user.roles };
  },
});

/** `GET /auth/me`: the caller and its permissions. */
export const meRoute = defineRoute({
  method: 'GET',
  path: '/auth/me',
  operationId: 'getMe',
  summary: 'The authenticated principal and its permissions',
  tag: 'auth',
  access: 'authenticated',
  response: z.object({ id: z.string(), roles: z.array(RoleSchema), permissions: z.array(z.string()) }),
  handler: async ({ kit, principal }) => ({
    id: principal?.id ?? '',
    roles: principal?.roles ?? [],
    permissions: kit.policy.permissionsOf(principal) as Permission[],
  }),
});

/** Authentication routes. */
export const authRoutes = [loginRoute, meRoute];
