import { z } from 'zod';
import { RoleSchema } from './role.js';

/** A user of a Tunekit server (people; API keys are separate principals). */
export const UserSchema = z
  .object({
    id: z.string().min(1),
    /** Login name: 3–64 characters, lowercase letters, digits, `.`, `_`, `-`. */
    username: z
      .string()
      .min(3)
      .max(64)
      .regex(
        /^[a-z0-9][a-z0-9._-]*$/,
        'must use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit',
      ),
    displayName: z.string().min(1).max(200).optional(),
    email: z.email().optional(),
    /**
     * Password hash in PHC string format (`$scrypt$…`, `$argon2id$…`); absent for users who sign in
     * through an identity provider (JWT). Never a plain password.
     */
    passwordHash: z
      .string()
      .regex(/^\$[a-z0-9-]+\$/, 'must be a PHC-format hash such as $scrypt$…')
      .optional(),
    /** At least one role; duplicates are rejected. */
    roles: z
      .array(RoleSchema)
      .min(1)
      .refine((roles) => new Set(roles).size === roles.length, 'must not repeat a role'),
    disabled: z.boolean().default(false),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime().optional(),
    version: z.number().int().min(0).default(0),
  })
  .strict();

/** A user record. */
export type User = z.infer<typeof UserSchema>;
