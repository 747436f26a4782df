import { describe, expect, expectTypeOf, it } from 'vitest';
import { TunekitError } from '../errors/tunekit-error.js';
import type { Principal } from '../schemas/principal.js';
import { createAccessPolicy } from './access-policy.js';
import { allPermissions, type OwnedAction, type Permission } from './permission.js';

const admin: Principal = { id: 'root', roles: ['admin'] };
const alice: Principal = { id: 'alice', roles: ['user'] };
const bob: Principal = { id: 'bob', roles: ['user'] };
const victor: Principal = { id: 'victor', roles: ['viewer'] };

// The full matrix, written out by hand (A = admin, U = user, V = viewer), checked without a resource.
const matrix: Record<Permission, 'AUV' | 'AU' | 'A' | 'AV'> = {
  'jobs:create': 'AU',
  'jobs:read:own': 'AUV',
  'jobs:read:any': 'A',
  'jobs:cancel:own': 'AU',
  'jobs:cancel:any': 'A',
  'datasets:read': 'AUV',
  'datasets:create': 'AU',
  'datasets:delete': 'A',
  'models:read': 'AUV',
  'models:register': 'AU',
  'models:transition': 'A',
  'evaluations:run': 'AU',
  'abtests:read': 'AUV',
  'abtests:manage': 'A',
  'abtests:record': 'A',
  'feedback:create': 'AU',
  'feedback:read': 'A',
  'audit:read': 'A',
  'experiments:read': 'A',
};

describe('access policy', () => {
  const policy = createAccessPolicy();

  it('covers every permission in the matrix', () => {
    expect(Object.keys(matrix).sort()).toEqual([...allPermissions].sort());
    expectTypeOf<OwnedAction>().toEqualTypeOf<'jobs:read' | 'jobs:cancel'>();
  });

  for (const permission of allPermissions) {
    it(`${permission}: ${matrix[permission]}`, () => {
      expect(policy.can(admin, permission)).toBe(matrix[permission].includes('A'));
      expect(policy.can(alice, permission)).toBe(matrix[permission].includes('U'));
      expect(policy.can(victor, permission)).toBe(matrix[permission].includes('V'));
      expect(policy.can(undefined, permission)).toBe(false);
    });
  }

  it('applies ownership: a user reads and cancels only their own jobs, admin all, viewer reads own only', () => {
    const alicesJob = { id: 'job-1', owner: 'alice' };
    const unowned = { id: 'job-2' };
    expect(policy.can(alice, 'jobs:read', alicesJob)).toBe(true);
    expect(policy.can(alice, 'jobs:read:own', alicesJob)).toBe(true);
    expect(policy.can(bob, 'jobs:read', alicesJob)).toBe(false);
    expect(policy.can(bob, 'jobs:read:own', alicesJob)).toBe(false);
    expect(policy.can(bob, 'jobs:cancel', alicesJob)).toBe(false);
    expect(policy.can(alice, 'jobs:cancel', alicesJob)).toBe(true);
    expect(policy.can(alice, 'jobs:read', unowned)).toBe(false);
    expect(policy.can(admin, 'jobs:read', alicesJob)).toBe(true);
    expect(policy.can(admin, 'jobs:cancel', unowned)).toBe(true);
    expect(policy.can(alice, 'jobs:read:any', alicesJob)).toBe(false);
    expect(policy.can(victor, 'jobs:read', { owner: 'victor' })).toBe(true);
    expect(policy.can(victor, 'jobs:read', alicesJob)).toBe(false);
    expect(policy.can(victor, 'jobs:cancel', { owner: 'victor' })).toBe(false);
    // Non-owned permissions ignore the resource.
    expect(policy.can(alice, 'models:read', { owner: 'bob' })).toBe(true);
  });

  it('gives list scopes', () => {
    expect(policy.scope(admin, 'jobs:read')).toBe('any');
    expect(policy.scope(alice, 'jobs:read')).toBe('own');
    expect(policy.scope(victor, 'jobs:cancel')).toBe('none');
    expect(policy.scope(undefined, 'jobs:read')).toBe('none');
  });

  it('assertCan throws FORBIDDEN with details', () => {
    expect(() => policy.assertCan(alice, 'jobs:read', { id: 'job-1', owner: 'alice' })).not.toThrow();
    try {
      policy.assertCan(bob, 'jobs:read', { id: 'job-1', owner: 'alice' });
      expect.unreachable();
    } catch (error) {
      expect(TunekitError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'FORBIDDEN',
        status: 403,
        details: { permission: 'jobs:read', principal: 'bob', roles: ['user'], resourceId: 'job-1' },
      });
    }
    expect(() => policy.assertCan(undefined, 'models:read')).toThrowError(/Anonymous/);
  });

  it('takes custom grants with wildcards, and unions several roles', () => {
    const custom = createAccessPolicy({ roleGrants: { viewer: ['datasets:*', 'audit:read'] } });
    expect(custom.permissionsOf(victor)).toEqual([
      'datasets:read',
      'datasets:create',
      'datasets:delete',
      'audit:read',
    ]);
    expect(custom.can(victor, 'models:read')).toBe(false);
    expect(custom.can(alice, 'jobs:create')).toBe(true);
    const both: Principal = { id: 'carol', roles: ['viewer', 'user'] };
    expect(policy.can(both, 'jobs:create')).toBe(true);
    expect(policy.permissionsOf(admin)).toEqual(allPermissions);
  });
});
