import type { TunekitEventMap, TunekitEventName } from '@tunekit/core';
import { CHECKPOINT_MANIFEST, CHECKPOINT_TENSORS } from '../train/checkpoint-manager.js';
import type { CheckpointStore } from '../train/checkpoint-store.js';

/** Options of {@link createCheckpointMirror}. */
export interface CheckpointMirrorOptions {
  /** Where the training worker writes its checkpoints (a private folder). */
  local: CheckpointStore;
  /** Where they are mirrored to (the kit's artifact store, shared by every worker). */
  remote: CheckpointStore;
  /** Emits an event on the kit's bus, once what it announces is true of the remote store. */
  emit: (name: TunekitEventName, payload: unknown) => void;
}

/** Relays a training worker's events while mirroring its checkpoints; see {@link createCheckpointMirror}. */
export interface CheckpointMirror {
  /** Takes one event of the training worker (queued behind the mirroring before it). */
  relay(name: TunekitEventName, payload: unknown): void;
  /** Resolves once every event relayed so far is handled (rejects with the first failure). */
  flush(): Promise<void>;
}

/**
 * Mirrors the checkpoints a training worker writes into the shared store, in order, and relays its
 * events once what they announce holds there (`checkpoint:saved` with the store's URI after the
 * checkpoint is complete in it). The trainer keeps only its best and last checkpoints and deletes
 * older ones as it goes, often before a slow store received them. So:
 * - a checkpoint already gone from the local folder is skipped, with its events (a newer one follows);
 * - a checkpoint is copied only when both its files were read (tensors, then the manifest that
 *   makes it complete), so a skipped one leaves nothing behind in the store;
 * - a checkpoint the trainer deleted leaves the store only once a newer one is complete there:
 *   the store always holds the newest checkpoint it could get, which is what another worker resumes
 *   from when this one dies.
 */
export function createCheckpointMirror({ local, remote, emit }: CheckpointMirrorOptions): CheckpointMirror {
  let chain: Promise<void> = Promise.resolve();
  /** The newest checkpoint complete in the remote store. */
  let newest: string | undefined;
  /** Checkpoints in the remote store that the trainer deleted, with their event: removed once older than `newest`. */
  const stale = new Map<string, TunekitEventMap['checkpoint:deleted']>();
  const mirrored = new Set<string>();
  const toUri = (payload: { uri: string }, checkpoint: string) => ({
    ...payload,
    uri: remote.location(checkpoint),
  });

  const removeStale = async () => {
    for (const [checkpoint, payload] of [...stale]) {
      // Names sort by step (`step-000012`).
      if (newest === undefined || checkpoint >= newest) continue;
      await remote.delete(checkpoint);
      stale.delete(checkpoint);
      mirrored.delete(checkpoint);
      emit('checkpoint:deleted', toUri(payload, checkpoint));
    }
  };

  const copy = async (checkpoint: string): Promise<boolean> => {
    const tensors = await local.read(checkpoint, CHECKPOINT_TENSORS);
    const manifest = tensors && (await local.read(checkpoint, CHECKPOINT_MANIFEST));
    if (tensors === undefined || manifest === undefined) return false;
    await remote.write(checkpoint, CHECKPOINT_TENSORS, tensors);
    await remote.write(checkpoint, CHECKPOINT_MANIFEST, manifest);
    return true;
  };

  const handle = async (name: TunekitEventName, payload: unknown) => {
    const record = payload as { uri?: string };
    const checkpoint = record.uri?.split(/[\\/]/).at(-1);
    if (name === 'checkpoint:saved' && checkpoint) {
      if (!(await copy(checkpoint))) return;
      mirrored.add(checkpoint);
      if (newest === undefined || checkpoint > newest) newest = checkpoint;
      emit(name, toUri(payload as TunekitEventMap['checkpoint:saved'], checkpoint));
      await removeStale();
    } else if (name === 'checkpoint:deleted' && checkpoint) {
      if (!mirrored.has(checkpoint)) return;
      stale.set(checkpoint, payload as TunekitEventMap['checkpoint:deleted']);
      await removeStale();
    } else {
      emit(name, payload);
    }
  };

  return {
    relay(name, payload) {
      chain = chain.then(() => handle(name, payload));
    },
    flush: () => chain,
  };
}
