import { randomUUID } from 'node:crypto';
import { type OperationContext, TunekitError, tunekitError } from '@tunekit/core';
import { type RegistryStore, requireModel } from './registry-store.js';
import { repairProduction } from './stage-changes.js';

/** Takes the stage-change lease of `name` (compare-and-set on its record), waiting while another holds it. */
async function acquireLease(store: RegistryStore, name: string): Promise<string> {
  const token = randomUUID();
  const deadline = Date.now() + store.leaseWaitMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await store.models.update(name, (model) => {
        if (model.lease !== undefined && model.lease.expiresAt > Date.now()) {
          throw tunekitError('CONFLICT', `The stage-change lease of "${name}" is held`, { name, held: true });
        }
        return { ...model, lease: { owner: token, expiresAt: Date.now() + store.leaseMs } };
      });
      return token;
    } catch (error) {
      if (!(TunekitError.isInstance(error) && error.code === 'CONFLICT')) throw error;
      if (Date.now() > deadline) {
        throw tunekitError('CONFLICT', `Another process keeps changing the stages of "${name}"; try again`, {
          name,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * Math.min(attempt, 10)));
    }
  }
}

async function releaseLease(store: RegistryStore, name: string, token: string): Promise<void> {
  await store.models
    .update(name, (model) => (model.lease?.owner === token ? { ...model, lease: undefined } : model))
    .catch((error) => store.logger?.warn({ err: error, name }, 'Releasing a registry stage lease failed'));
}

/**
 * Runs a stage change of `name` alone: serialized in this process, and across processes by the
 * lease on the name's record; repairs what an interrupted change left first.
 */
export async function withStageLease<T>(
  store: RegistryStore,
  name: string,
  context: OperationContext | undefined,
  work: () => Promise<T>,
): Promise<T> {
  return store.nameLock.run(name, async () => {
    await requireModel(store, name);
    const token = await acquireLease(store, name);
    try {
      await repairProduction(store, name, context);
      return await work();
    } finally {
      await releaseLease(store, name, token);
    }
  });
}
