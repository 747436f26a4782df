import { z } from 'zod';

/**
 * Every permission Tunekit checks, `resource:action[:scope]`. A `:own` permission applies to
 * resources whose `owner` is the principal; `:any` to all of them.
 */
export const PermissionSchema = z.enum([
  'jobs:create',
  'jobs:read:own',
  'jobs:read:any',
  'jobs:cancel:own',
  'jobs:cancel:any',
  'datasets:read',
  'datasets:create',
  'datasets:delete',
  'models:read',
  'models:register',
  'models:transition',
  'evaluations:run',
  'abtests:read',
  'abtests:manage',
  /** Record A/B exposures and outcomes for any unit without an exposure token (trusted backends). */
  'abtests:record',
  'feedback:create',
  'feedback:read',
  'audit:read',
  'experiments:read',
]);

/** A permission. */
export type Permission = z.infer<typeof PermissionSchema>;

/** Every permission, in catalogue order. */
export const allPermissions: readonly Permission[] = PermissionSchema.options;

/** An action that exists in an `:own` and an `:any` form, e.g. `jobs:read`. */
export type OwnedAction = Permission extends infer P ? (P extends `${infer Base}:own` ? Base : never) : never;

/** What `can` accepts: a permission, or an owned action whose scope is decided by the resource. */
export type PermissionRequest = Permission | OwnedAction;

/**
 * A grant in a role: a permission, a wildcard over one resource (`datasets:*`), or `*` (everything).
 */
export type PermissionGrant = Permission | `${string}:*` | '*';

/** Whether `grant` covers `permission`. */
export function grantCovers(grant: PermissionGrant, permission: Permission): boolean {
  if (grant === '*' || grant === permission) return true;
  return grant.endsWith(':*') && permission.startsWith(grant.slice(0, -1));
}
