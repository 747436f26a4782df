import { tunekitError } from '../errors/tunekit-error.js';
import type { Principal, Role } from '../schemas/principal.js';
import {
  allPermissions,
  grantCovers,
  type OwnedAction,
  type Permission,
  type PermissionGrant,
  type PermissionRequest,
} from './permission.js';

/**
 * The built-in grants: `admin` everything; `user` creates jobs and reads or
 * cancels its own, registers datasets and models, runs evaluations, sends feedback; `viewer` only
 * reads its own jobs and the shared catalogues (datasets, models, A/B results). Experiments (every
 * run's metrics), feedback reading, model transitions and the audit log are admin-only.
 */
export const defaultRoleGrants: Readonly<Record<Role, readonly PermissionGrant[]>> = {
  admin: ['*'],
  user: [
    'jobs:create',
    'jobs:read:own',
    'jobs:cancel:own',
    'datasets:read',
    'datasets:create',
    'models:read',
    'models:register',
    'evaluations:run',
    'abtests:read',
    'feedback:create',
  ],
  viewer: ['jobs:read:own', 'datasets:read', 'models:read', 'abtests:read'],
};

/** A resource an ownership rule looks at. */
export interface PolicyResource {
  /** Id of the principal that owns it (a job's submitter). */
  owner?: string;
  /** Id of the resource (for error details). */
  id?: string;
}

/** Options of {@link createAccessPolicy}. */
export interface AccessPolicyOptions {
  /** Grants per role; replaces the defaults for the roles it names. */
  roleGrants?: Partial<Record<Role, readonly PermissionGrant[]>>;
}

/** Framework-free access checks (`kit.policy`); the server adapter enforces them per route. */
export interface AccessPolicy {
  /**
   * Whether the principal holds the permission. For `…:own` permissions and owned actions
   * (`jobs:read`): with a resource, an `:any` grant allows it, and an `:own` grant allows it when
   * `resource.owner` is the principal; without a resource, either grant allows it (list endpoints
   * then filter with {@link scope}). A `…:any` permission needs the `:any` grant.
   */
  can(principal: Principal | undefined, permission: PermissionRequest, resource?: PolicyResource): boolean;
  /** Like `can`, throwing `FORBIDDEN` (403) when denied. */
  assertCan(principal: Principal | undefined, permission: PermissionRequest, resource?: PolicyResource): void;
  /** How far an owned action reaches for a principal: every resource, its own, or none. */
  scope(principal: Principal | undefined, action: OwnedAction): 'any' | 'own' | 'none';
  /** Every permission the principal holds (wildcards expanded). */
  permissionsOf(principal: Principal | undefined): Permission[];
}

/** Creates the access policy, with the default grants or your own per role. */
export function createAccessPolicy(options: AccessPolicyOptions = {}): AccessPolicy {
  const grants: Record<Role, readonly PermissionGrant[]> = { ...defaultRoleGrants, ...options.roleGrants };
  const holds = (principal: Principal | undefined, permission: Permission): boolean =>
    principal?.roles.some((role) => (grants[role] ?? []).some((grant) => grantCovers(grant, permission))) ??
    false;

  const scope = (principal: Principal | undefined, action: OwnedAction): 'any' | 'own' | 'none' => {
    if (holds(principal, `${action}:any` as Permission)) return 'any';
    if (holds(principal, `${action}:own` as Permission)) return 'own';
    return 'none';
  };

  const can = (
    principal: Principal | undefined,
    permission: PermissionRequest,
    resource?: PolicyResource,
  ): boolean => {
    if (!principal) return false;
    const owned = ownedActionOf(permission);
    if (owned === undefined) return holds(principal, permission as Permission);
    if (permission.endsWith(':any')) return holds(principal, permission as Permission);
    const reach = scope(principal, owned);
    if (reach === 'any') return true;
    if (reach === 'none') return false;
    return resource === undefined || (resource.owner !== undefined && resource.owner === principal.id);
  };

  return {
    can,
    assertCan(principal, permission, resource) {
      if (can(principal, permission, resource)) return;
      throw tunekitError(
        'FORBIDDEN',
        principal
          ? `"${principal.id}" may not ${permission}${resource?.id ? ` on ${resource.id}` : ''}`
          : `Anonymous callers may not ${permission}`,
        {
          permission,
          principal: principal?.id,
          roles: principal?.roles ?? [],
          ...(resource?.id ? { resourceId: resource.id } : {}),
        },
      );
    },
    scope,
    permissionsOf: (principal) => allPermissions.filter((permission) => holds(principal, permission)),
  };
}

function ownedActionOf(permission: PermissionRequest): OwnedAction | undefined {
  const base = permission.replace(/:(own|any)$/, '');
  return allPermissions.includes(`${base}:own` as Permission) ? (base as OwnedAction) : undefined;
}
