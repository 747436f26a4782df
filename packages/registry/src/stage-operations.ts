import { type ModelStage, type ModelVersion, type OperationContext, tunekitError } from '@tunekit/core';
import type { TransitionOptions } from './model-registry.js';
import { type RegistryStore, requireModel, requireVersion } from './registry-store.js';
import { afterStageChange, archiveOtherProduction, recordTransition, setStage } from './stage-changes.js';
import { withStageLease } from './stage-lease.js';
import { assertTransition } from './stage-transitions.js';

/**
 * Moves a version to production under the name's stage lease: points the name at it, archives the
 * previous production version (remembered for rollback) and emits `model:deployed`.
 */
export async function promoteVersion(
  store: RegistryStore,
  reference: string,
  action: 'transition' | 'deploy',
  transitionOptions: TransitionOptions | undefined,
  context: OperationContext | undefined,
): Promise<ModelVersion> {
  const target = await requireVersion(store, reference);
  return withStageLease(store, target.name, context, async () => {
    const current = await store.versions.require(target.id);
    assertTransition(current.id, current.stage, 'production');
    let previousId: string | undefined;
    await store.models.update(current.name, (model) => {
      previousId = model.productionVersionId;
      const history = model.productionHistory.filter((id) => id !== current.id);
      return {
        ...model,
        productionVersionId: current.id,
        productionHistory:
          previousId !== undefined && previousId !== current.id ? [...history, previousId] : history,
        updatedAt: new Date().toISOString(),
      };
    });
    let promoted: ModelVersion;
    try {
      promoted = await setStage(store, current.id, current.stage, 'production', {
        deployedAt: new Date().toISOString(),
      });
    } catch (error) {
      await store.models
        .update(current.name, (model) =>
          model.productionVersionId === current.id
            ? {
                ...model,
                productionVersionId: previousId,
                productionHistory: model.productionHistory.filter((id) => id !== previousId),
              }
            : model,
        )
        .catch(() => undefined);
      throw error;
    }
    await recordTransition(
      store,
      promoted,
      action,
      current.stage,
      'production',
      transitionOptions?.reason,
      context,
    );
    await afterStageChange(store, promoted);
    await archiveOtherProduction(
      store,
      current.name,
      current.id,
      'auto-archive',
      `superseded by ${current.id}`,
      context,
    );
    store.events?.emit('model:deployed', {
      versionId: promoted.id,
      name: promoted.name,
      previousVersionId: previousId,
    });
    return promoted;
  });
}

/**
 * Moves a version to a stage other than production under the name's stage lease (a version leaving
 * production clears the name's production pointer).
 */
export async function moveVersionStage(
  store: RegistryStore,
  reference: string,
  to: Exclude<ModelStage, 'production'>,
  transitionOptions: TransitionOptions | undefined,
  context: OperationContext | undefined,
): Promise<ModelVersion> {
  const target = await requireVersion(store, reference);
  return withStageLease(store, target.name, context, async () => {
    let from: ModelStage = target.stage;
    const updated = await store.versions.update(target.id, (current) => {
      from = current.stage;
      assertTransition(current.id, current.stage, to);
      const now = new Date().toISOString();
      return { ...current, stage: to, stageChangedAt: now, updatedAt: now };
    });
    if (from === 'production') {
      await store.models.update(updated.name, (model) =>
        model.productionVersionId === updated.id
          ? { ...model, productionVersionId: undefined, updatedAt: new Date().toISOString() }
          : model,
      );
    }
    await recordTransition(store, updated, 'transition', from, to, transitionOptions?.reason, context);
    await afterStageChange(store, updated);
    return updated;
  });
}

/**
 * Restores the previous production version of `name` (the newest archived or staging one in its
 * production history) under the name's stage lease, archives the current one and emits
 * `model:rolled-back`.
 */
export async function rollbackProduction(
  store: RegistryStore,
  name: string,
  transitionOptions: TransitionOptions | undefined,
  context: OperationContext | undefined,
): Promise<ModelVersion> {
  return withStageLease(store, name, context, async () => {
    const model = await requireModel(store, name);
    const currentId = model.productionVersionId;
    if (currentId === undefined) {
      throw tunekitError('ROLLBACK_UNAVAILABLE', `"${name}" has no production version to roll back from`, {
        name,
      });
    }
    let target: ModelVersion | undefined;
    let remaining = [...model.productionHistory];
    while (remaining.length > 0 && target === undefined) {
      const candidate = await store.versions.get(remaining.at(-1) as string);
      remaining = remaining.slice(0, -1);
      if (candidate !== undefined && (candidate.stage === 'archived' || candidate.stage === 'staging')) {
        target = candidate;
      }
    }
    if (target === undefined) {
      throw tunekitError(
        'ROLLBACK_UNAVAILABLE',
        `"${name}" has no earlier production version to roll back to`,
        {
          name,
          productionVersionId: currentId,
        },
      );
    }
    const restoring = target;
    await store.models.update(name, (current) => {
      if (current.productionVersionId !== currentId) {
        throw tunekitError('CONFLICT', `The production version of "${name}" changed during rollback`, {
          name,
        });
      }
      return {
        ...current,
        productionVersionId: restoring.id,
        productionHistory: remaining,
        updatedAt: new Date().toISOString(),
      };
    });
    const restored = await setStage(store, restoring.id, restoring.stage, 'production', {
      deployedAt: new Date().toISOString(),
    });
    await recordTransition(
      store,
      restored,
      'rollback',
      restoring.stage,
      'production',
      transitionOptions?.reason,
      context,
    );
    await afterStageChange(store, restored);
    await archiveOtherProduction(
      store,
      name,
      restored.id,
      'rollback',
      transitionOptions?.reason ?? 'rolled back',
      context,
    );
    store.events?.emit('model:rolled-back', { name, fromVersionId: currentId, toVersionId: restored.id });
    return restored;
  });
}
