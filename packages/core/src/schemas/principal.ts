import { z } from 'zod';

/** Built-in roles: `admin` may do everything, `user` works on their own jobs, `viewer` only reads. */
export const RoleSchema = z.enum(['admin', 'user', 'viewer']);

/** A built-in role. */
export type Role = z.infer<typeof RoleSchema>;

/** Who performs an operation: a user id or API key name, with roles. */
export const PrincipalSchema = z.object({
  id: z.string().min(1),
  roles: z.array(RoleSchema).min(1),
});

/** Who performs an operation. */
export type Principal = z.infer<typeof PrincipalSchema>;
