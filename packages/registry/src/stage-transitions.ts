import { type ModelStage, type TunekitError, tunekitError } from '@tunekit/core';

/**
 * Stages a version may move to with `registry.transition`, by current stage:
 *
 * | from       | to                              |
 * |------------|---------------------------------|
 * | draft      | staging, archived               |
 * | staging    | production, draft, archived     |
 * | production | staging, archived               |
 * | archived   | staging                         |
 *
 * Promotion to production (`transition(id, 'production')` or `deploy`) archives the previous
 * production version of the same name. An archived version returns to production only through
 * `rollback` (or by going through staging again).
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<ModelStage, readonly ModelStage[]>> = Object.freeze({
  draft: Object.freeze(['staging', 'archived'] as const),
  staging: Object.freeze(['production', 'draft', 'archived'] as const),
  production: Object.freeze(['staging', 'archived'] as const),
  archived: Object.freeze(['staging'] as const),
});

/** True when `from → to` is in {@link ALLOWED_TRANSITIONS}. */
export function canTransition(from: ModelStage, to: ModelStage): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** The `INVALID_TRANSITION` error for a version that cannot move from `from` to `to`. */
export function invalidTransition(
  versionId: string,
  from: ModelStage,
  to: ModelStage,
  hint?: string,
): TunekitError {
  const allowed = ALLOWED_TRANSITIONS[from];
  return tunekitError(
    'INVALID_TRANSITION',
    `Model version "${versionId}" cannot move from ${from} to ${to}${
      from === to ? ' (it is already there)' : ''
    }; from ${from} it can move to ${allowed.join(', ')}${hint ? `. ${hint}` : ''}`,
    { versionId, from, to, allowed: [...allowed] },
  );
}

/** Throws `INVALID_TRANSITION` unless `from → to` is allowed. */
export function assertTransition(versionId: string, from: ModelStage, to: ModelStage): void {
  if (!canTransition(from, to)) {
    throw invalidTransition(
      versionId,
      from,
      to,
      from === 'draft' && to === 'production' ? 'Promote it to staging first' : undefined,
    );
  }
}
