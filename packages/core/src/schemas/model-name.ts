import { z } from 'zod';

/** Name for outputs and registered models: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const ModelNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'must start with a letter or digit and use only letters, digits, ".", "_" and "-"',
  );
