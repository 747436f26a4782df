import { randomUUID } from 'node:crypto';
import {
  type ModelStage,
  type ModelTransitionAction,
  type ModelVersion,
  type OperationContext,
  TunekitError,
  tunekitError,
} from '@tunekit/core';
import { writeModelCard } from './cards/write-model-card.js';
import { allVersionsOf, collectAll, indexed, type RegistryStore, requireModel } from './registry-store.js';

/** Appends a transition to the history and emits `model:transitioned` (not for registrations). */
export async function recordTransition(
  store: RegistryStore,
  version: ModelVersion,
  action: ModelTransitionAction,
  from: ModelStage | undefined,
  to: ModelStage,
  reason: string | undefined,
  context: OperationContext | undefined,
): Promise<void> {
  store.transitionSequence += 1;
  await store.transitions.set({
    id: randomUUID(),
    name: version.name,
    versionId: version.id,
    versionNumber: version.versionNumber,
    action,
    from,
    to,
    reason,
    actor: context?.actor ?? 'system',
    at: new Date().toISOString(),
    sequence: store.transitionSequence,
    version: 0,
  });
  if (action !== 'register' && from !== undefined) {
    store.events?.emit('model:transitioned', { versionId: version.id, name: version.name, from, to, action });
  }
}

/** Rewrites the card and refreshes the index entry of a version whose stage changed. */
export async function afterStageChange(store: RegistryStore, version: ModelVersion): Promise<void> {
  await writeModelCard(store, version);
  await indexed(store, () => store.index.refresh(version));
}

/** Sets a version's stage by compare-and-set, checking the stage it had is still `expected`. */
export async function setStage(
  store: RegistryStore,
  id: string,
  expected: ModelStage,
  to: ModelStage,
  extra: Partial<ModelVersion> = {},
): Promise<ModelVersion> {
  return store.versions.update(id, (current) => {
    if (current.stage !== expected) {
      throw tunekitError('CONFLICT', `Model version "${id}" changed stage to ${current.stage} concurrently`, {
        versionId: id,
        expected,
        actual: current.stage,
      });
    }
    const now = new Date().toISOString();
    return { ...current, ...extra, stage: to, stageChangedAt: now, updatedAt: now };
  });
}

/** Archives every production version of `name` except `keep`. */
export async function archiveOtherProduction(
  store: RegistryStore,
  name: string,
  keep: string,
  action: ModelTransitionAction,
  reason: string | undefined,
  context: OperationContext | undefined,
): Promise<string[]> {
  const others = await collectAll((cursor) =>
    store.versions.list({
      filter: (version) => version.name === name && version.stage === 'production' && version.id !== keep,
      limit: 1000,
      cursor,
    }),
  );
  const archived: string[] = [];
  for (const other of others) {
    try {
      const updated = await setStage(store, other.id, 'production', 'archived');
      await recordTransition(store, updated, action, 'production', 'archived', reason, context);
      await afterStageChange(store, updated);
      archived.push(updated.id);
    } catch (error) {
      // Someone else moved it meanwhile: nothing to archive.
      if (!(TunekitError.isInstance(error) && error.code === 'CONFLICT')) throw error;
    }
  }
  return archived;
}

/**
 * Restores the invariant "at most one production version, the one the pointer names" after a
 * process crashed half-way through a stage change: a pointer to a version that is not in production
 * moves to the newest production version (or none), and other production versions are archived.
 */
export async function repairProduction(
  store: RegistryStore,
  name: string,
  context: OperationContext | undefined,
): Promise<void> {
  const model = await requireModel(store, name);
  const productions = (await allVersionsOf(store, name)).filter((version) => version.stage === 'production');
  const pointer = model.productionVersionId;
  if (productions.length === (pointer === undefined ? 0 : 1) && productions[0]?.id === pointer) return;
  let keep = productions.find((version) => version.id === pointer)?.id;
  if (keep === undefined) {
    keep = productions.sort((left, right) => ((left.deployedAt ?? '') < (right.deployedAt ?? '') ? 1 : -1))[0]
      ?.id;
    await store.models.update(name, (current) => ({ ...current, productionVersionId: keep }));
  }
  store.logger?.warn({ name, pointer, keep }, 'Repairing the production stage of a registered model');
  await archiveOtherProduction(
    store,
    name,
    keep ?? '',
    'auto-archive',
    'repair after an interrupted stage change',
    context,
  );
}
