import type { TunekitEventName } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_MANIFEST, CHECKPOINT_TENSORS } from '../train/checkpoint-manager.js';
import type { CheckpointStore } from '../train/checkpoint-store.js';
import { createCheckpointMirror } from './checkpoint-mirror.js';

/** A checkpoint store in memory; `hold(checkpoint)` makes writes of that checkpoint wait for `release()`. */
function memoryCheckpoints(location: (checkpoint: string) => string) {
  const files = new Map<string, Uint8Array>();
  const held = new Map<string, { promise: Promise<void>; release: () => void }>();
  const store: CheckpointStore = {
    location,
    async write(checkpoint, file, data) {
      await held.get(checkpoint)?.promise;
      files.set(`${checkpoint}/${file}`, typeof data === 'string' ? new TextEncoder().encode(data) : data);
    },
    async read(checkpoint, file) {
      return files.get(`${checkpoint}/${file}`);
    },
    async list() {
      return [...new Set([...files.keys()].map((key) => key.split('/')[0] as string))].sort();
    },
    async delete(checkpoint) {
      for (const key of [...files.keys()]) if (key.startsWith(`${checkpoint}/`)) files.delete(key);
    },
  };
  const hold = (checkpoint: string) => {
    let release = () => {};
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    held.set(checkpoint, { promise, release });
    return release;
  };
  /** Checkpoints whose manifest is there (complete), sorted. */
  const complete = () =>
    [...files.keys()]
      .filter((key) => key.endsWith(`/${CHECKPOINT_MANIFEST}`))
      .map((key) => key.split('/')[0])
      .sort();
  return { store, files, hold, complete };
}

/** The training worker's side: writes a checkpoint (tensors, then manifest) or deletes one, and tells the mirror. */
function trainerSide(
  local: ReturnType<typeof memoryCheckpoints>,
  relay: (name: TunekitEventName, payload: unknown) => void,
) {
  const name = (step: number) => `step-${String(step).padStart(6, '0')}`;
  return {
    save(step: number) {
      local.files.set(`${name(step)}/${CHECKPOINT_TENSORS}`, new Uint8Array([step]));
      local.files.set(`${name(step)}/${CHECKPOINT_MANIFEST}`, new TextEncoder().encode(`{"step":${step}}`));
      relay('checkpoint:saved', { jobId: 'job-1', step, uri: `/tmp/worker/${name(step)}` });
    },
    remove(step: number) {
      for (const file of [CHECKPOINT_TENSORS, CHECKPOINT_MANIFEST])
        local.files.delete(`${name(step)}/${file}`);
      relay('checkpoint:deleted', { jobId: 'job-1', step, uri: `/tmp/worker/${name(step)}` });
    },
  };
}

describe('createCheckpointMirror', () => {
  it('keeps the newest mirrored checkpoint in the store until a newer one is complete there, when the trainer outpaces the store', async () => {
    const local = memoryCheckpoints((checkpoint) => `/tmp/worker/${checkpoint}`);
    const remote = memoryCheckpoints((checkpoint) => `artifact://jobs/job-1/checkpoints/${checkpoint}`);
    const emitted: Array<{ name: string; payload: { step?: number; uri?: string } }> = [];
    const mirror = createCheckpointMirror({
      local: local.store,
      remote: remote.store,
      emit: (name, payload) => emitted.push({ name, payload: payload as { step?: number; uri?: string } }),
    });
    const trainer = trainerSide(local, mirror.relay);

    trainer.save(2);
    await mirror.flush();
    expect(remote.complete()).toEqual(['step-000002']);

    // The trainer runs ahead of a slow store: step 4's upload is slow; meanwhile the trainer saves
    // 6 and 8 and deletes 2, 4 and 6 (it keeps the last only); step 8's upload is slow too.
    const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
    const releaseFour = remote.hold('step-000004');
    const releaseEight = remote.hold('step-000008');
    trainer.save(4);
    trainer.remove(2);
    await tick();
    trainer.save(6);
    trainer.remove(4);
    trainer.save(8);
    trainer.remove(6);
    await tick();
    expect(remote.complete()).toEqual(['step-000002']);
    releaseFour();
    await tick();
    // Step 4 is complete in the store and 2 gone; step 6 was deleted locally before its turn
    // (skipped); the trainer deleted 4 too, but it stays in the store while 8 uploads: a worker
    // that dies now is resumed from step 4, not from scratch.
    expect(remote.complete()).toEqual(['step-000004']);
    releaseEight();
    await mirror.flush();
    // Once 8 is complete, 4 leaves; nothing of the skipped step 6 was ever written.
    expect([...remote.files.keys()].sort()).toEqual(
      [`step-000008/${CHECKPOINT_MANIFEST}`, `step-000008/${CHECKPOINT_TENSORS}`].sort(),
    );
    expect(emitted.map(({ name, payload }) => `${name}:${payload.step}`)).toEqual([
      'checkpoint:saved:2',
      'checkpoint:saved:4',
      'checkpoint:deleted:2',
      'checkpoint:saved:8',
      'checkpoint:deleted:4',
    ]);
    // Announced under the store's URIs.
    expect(emitted.at(-2)?.payload.uri).toBe('artifact://jobs/job-1/checkpoints/step-000008');
  });

  it('relays the other events in order, behind the mirroring before them', async () => {
    const local = memoryCheckpoints((checkpoint) => `/tmp/worker/${checkpoint}`);
    const remote = memoryCheckpoints((checkpoint) => `artifact://x/${checkpoint}`);
    const emitted: string[] = [];
    const mirror = createCheckpointMirror({
      local: local.store,
      remote: remote.store,
      emit: (name) => emitted.push(name),
    });
    const trainer = trainerSide(local, mirror.relay);
    const release = remote.hold('step-000001');
    trainer.save(1);
    mirror.relay('training:finished', {});
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(emitted).toEqual([]);
    release();
    await mirror.flush();
    expect(emitted).toEqual(['checkpoint:saved', 'training:finished']);
  });
});
