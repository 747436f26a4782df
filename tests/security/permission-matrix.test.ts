import { createAccessPolicy, type Principal, type Role } from '@tunekit/core';
import { type RouteAccess, routeTable } from '@tunekit/server-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapters, type SecurityFixture, startSecurityFixture } from './security-fixture.js';

type Caller = 'anonymous' | 'viewer' | 'alice' | 'admin';

const roles: Record<Exclude<Caller, 'anonymous'>, Role> = { viewer: 'viewer', alice: 'user', admin: 'admin' };

/** What the route's declared access lets a caller do: `401`, `403`, or `pass` (the handler runs). */
function expectedOf(access: RouteAccess, caller: Caller): 'pass' | 401 | 403 {
  if (access === 'public') return 'pass';
  if (caller === 'anonymous') return 401;
  if (access === 'authenticated') return 'pass';
  const principal: Principal = { id: caller, roles: [roles[caller]] };
  if (access === 'admin') return principal.roles.includes('admin') ? 'pass' : 403;
  return createAccessPolicy().can(principal, access) ? 'pass' : 403;
}

/**
 * The permission matrix, generated from the route table: every route × every principal (anonymous,
 * viewer, user, admin), with the expected outcome from the route's declared access and the default
 * role grants. A denied call must be 401 (no credentials) or the access check's 403 (naming the
 * permission or role); an allowed call must get past the check: whatever the handler answers (400 for
 * the empty body, 404 for the placeholder id), not 401 and not an access 403.
 */
describe.each(adapters)('permission matrix on %s', (adapter) => {
  let fixture: SecurityFixture;
  const headers: Record<Caller, Record<string, string>> = {
    anonymous: {},
    viewer: {},
    alice: {},
    admin: {},
  };
  beforeAll(async () => {
    fixture = await startSecurityFixture(adapter);
    for (const caller of ['viewer', 'alice', 'admin'] as const) headers[caller] = await fixture.as(caller);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it.each(routeTable.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s answers each principal as its access declares',
    async (_name, route) => {
      const mismatches: string[] = [];
      for (const caller of ['anonymous', 'viewer', 'alice', 'admin'] as const) {
        const expected = expectedOf(route.access, caller);
        const path = route.path.replace(/\{[^}]+\}/g, 'matrix-placeholder');
        const controller = new AbortController();
        const response = await fetch(`${fixture.url}${path}`, {
          method: route.method,
          headers: {
            ...headers[caller],
            ...(route.method === 'GET' ? {} : { 'content-type': 'application/json' }),
          },
          body: route.method === 'GET' ? undefined : '{}',
          signal: controller.signal,
        });
        let text = '';
        // An event stream stays open: its status is what is checked.
        if (response.headers.get('content-type')?.includes('text/event-stream')) controller.abort();
        else text = await response.text();
        let details: Record<string, unknown> = {};
        try {
          details = (JSON.parse(text) as { details?: Record<string, unknown> }).details ?? {};
        } catch {
          // Not JSON (metrics, the UI): not an access denial.
        }
        const accessDenied =
          response.status === 403 && (details.permission !== undefined || details.role !== undefined);
        const outcome = response.status === 401 ? 401 : accessDenied ? 403 : 'pass';
        if (outcome !== expected) {
          mismatches.push(`${caller}: expected ${expected}, got ${response.status} ${text.slice(0, 200)}`);
        }
      }
      expect(mismatches).toEqual([]);
    },
  );
});
