/**
 * Roles: `admin` may do everything, `user` works on their own jobs and models, `viewer` only reads.
 * The schema is defined next to `Principal` (used by the access policy) and re-exported here so that
 * every record has its own module.
 */
export { type Role, RoleSchema } from './principal.js';
