import { afterEach, describe, expect, it } from 'vitest';
import { createTunekit } from '../kit/create-tunekit.js';
import type { Tunekit } from '../kit/tunekit.js';

const kits: Tunekit[] = [];
afterEach(async () => {
  await Promise.all(kits.splice(0).map((kit) => kit.close()));
});

describe('kit.datasets', () => {
  it('registers into the kit storage and artifact store, audits with the caller, and emits on the kit bus', async () => {
    const kit = await createTunekit();
    kits.push(kit);
    const registered: string[] = [];
    kit.events.on('dataset:registered', ({ versionId }) => registered.push(versionId));

    const version = await kit.datasets.register(
      {
        name: 'feedback-export',
        kind: 'feedback',
        source: { rows: [{ prompt: 'hi', chosen: 'hello', rejected: 'go away' }] },
      },
      { actor: 'ada', requestId: 'req-7', ip: '127.0.0.1' },
    );
    expect(registered).toEqual([version.id]);
    expect(await kit.artifacts.exists(version.uri)).toBe(true);
    expect(await kit.datasets.get('feedback-export')).toMatchObject({
      kind: 'feedback',
      latestVersionId: version.id,
    });

    const { items } = await kit.audit.query({ action: 'dataset.register' });
    expect(items).toEqual([
      expect.objectContaining({
        actor: 'ada',
        requestId: 'req-7',
        ip: '127.0.0.1',
        resourceType: 'dataset-version',
        resourceId: version.id,
        outcome: 'success',
      }),
    ]);
    expect((await kit.audit.verify()).valid).toBe(true);
  });
});
