import { type ModelStage, ModelVersionSchema, RegisteredModelSchema, type TunekitError } from '@tunekit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelRegistry, RegisterModelInput } from './model-registry.js';
import {
  caught,
  createRegistryHarness,
  type HarnessDriver,
  modelInput,
  type RegistryHarness,
  stages,
  versionIn,
} from './registry-test-harness.js';
import { ALLOWED_TRANSITIONS } from './stage-transitions.js';

describe.each<HarnessDriver>(['memory', 'sqlite'])('model registry on %s storage', (driver) => {
  let harness: RegistryHarness;
  let registry: ModelRegistry;
  beforeEach(async () => {
    harness = await createRegistryHarness(driver);
    registry = harness.registry;
  });
  afterEach(async () => {
    await harness.close();
  });

  describe('register', () => {
    it('numbers versions per name from 1 in stage draft, with lineage and an audit entry', async () => {
      const first = await registry.register(
        modelInput('tone', { language: 'ja', tags: ['polite', 'polite'] }),
      );
      const second = await registry.register(
        modelInput('tone', { parentVersionId: first.id, trainingJobId: 'job-7' }),
      );
      const other = await registry.register(modelInput('sentiment'));
      expect([first.id, second.id, other.id]).toEqual(['tone@1', 'tone@2', 'sentiment@1']);
      expect(first).toMatchObject({ stage: 'draft', versionNumber: 1, language: ['ja'], tags: ['polite'] });
      expect(second.parentVersionId).toBe('tone@1');
      expect((await registry.getModel('tone'))?.latestVersionNumber).toBe(2);
      expect(harness.eventsOf('model:registered').map((event) => event.versionId)).toEqual([
        'tone@1',
        'tone@2',
        'sentiment@1',
      ]);
      const lineage = await registry.lineage('tone@2');
      expect(lineage.parent?.id).toBe('tone@1');
      expect(lineage.trainingJobId).toBe('job-7');
      expect((await registry.lineage('tone@1')).children.map((child) => child.id)).toEqual(['tone@2']);
      const audit = await harness.audit.query({ action: 'model.register', order: 'asc' });
      expect(audit.items.map((entry) => [entry.resourceId, entry.outcome])).toEqual([
        ['tone', 'success'],
        ['tone', 'success'],
        ['sentiment', 'success'],
      ]);
    });

    it('numbers concurrent registrations of one name without gaps or duplicates', async () => {
      const created = await Promise.all(
        Array.from({ length: 8 }, () => registry.register(modelInput('busy'))),
      );
      expect(created.map((version) => version.versionNumber).sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8,
      ]);
    });

    it('rejects invalid input with VALIDATION_FAILED naming the fields, and a missing parent with NOT_FOUND', async () => {
      const invalid = await caught(() =>
        registry.register({
          name: 'bad name!',
          artifactUri: '',
          metrics: { loss: Number.NaN },
        } as RegisterModelInput),
      );
      expect(invalid.code).toBe('VALIDATION_FAILED');
      expect(invalid.message).toContain('name');
      expect(invalid.message).toContain('artifactUri');
      expect(invalid.message).toContain('metrics.loss');
      const orphan = await caught(() =>
        registry.register(modelInput('orphan', { parentVersionId: 'nope@1' })),
      );
      expect(orphan.code).toBe('NOT_FOUND');
      expect(
        (await harness.audit.query({ action: 'model.register', outcome: 'failure' })).items,
      ).toHaveLength(1);
    });
  });

  describe('stage transitions', () => {
    it('allows exactly the transitions of the table and rejects the rest with INVALID_TRANSITION', async () => {
      for (const from of stages) {
        for (const to of stages) {
          const version = await versionIn(registry, `m-${from}-${to}`, from);
          expect(version.stage).toBe(from);
          if (ALLOWED_TRANSITIONS[from].includes(to)) {
            const moved = await registry.transition(version.id, to);
            expect(moved.stage, `${from} -> ${to}`).toBe(to);
          } else {
            const error = await caught(() => registry.transition(version.id, to));
            expect(error.code, `${from} -> ${to}`).toBe('INVALID_TRANSITION');
            expect(error.status).toBe(409);
            expect(error.details).toMatchObject({ from, to });
            expect((await registry.require(version.id)).stage).toBe(from);
          }
        }
      }
      const unknownStage = await caught(() => registry.transition('m-draft-draft@1', 'live' as ModelStage));
      expect(unknownStage.code).toBe('VALIDATION_FAILED');
      const missing = await caught(() => registry.transition('ghost@1', 'staging'));
      expect(missing.code).toBe('NOT_FOUND');
    });

    it('deploy needs staging; promoting archives the previous production version in the same call', async () => {
      const v1 = await registry.register(modelInput('tone'));
      expect((await caught(() => registry.deploy(v1.id))).code).toBe('INVALID_TRANSITION');
      await registry.transition(v1.id, 'staging');
      await registry.deploy(v1.id, { reason: 'first release' }, { actor: 'ada' });
      const v2 = await versionIn(registry, 'tone', 'staging');
      const promoted = await registry.transition(v2.id, 'production');
      expect(promoted.stage).toBe('production');
      expect(promoted.deployedAt).toBeDefined();
      expect((await registry.require(v1.id)).stage).toBe('archived');
      expect((await registry.get('tone@production'))?.id).toBe(v2.id);
      expect((await registry.getModel('tone'))?.productionHistory).toEqual([v1.id]);
      expect(harness.eventsOf('model:deployed').at(-1)).toEqual({
        versionId: v2.id,
        name: 'tone',
        previousVersionId: v1.id,
      });
      const history = await registry.history('tone');
      expect(history.map((entry) => [entry.versionId, entry.action, entry.from ?? null, entry.to])).toEqual([
        ['tone@1', 'register', null, 'draft'],
        ['tone@1', 'transition', 'draft', 'staging'],
        ['tone@1', 'deploy', 'staging', 'production'],
        ['tone@2', 'register', null, 'draft'],
        ['tone@2', 'transition', 'draft', 'staging'],
        ['tone@2', 'transition', 'staging', 'production'],
        ['tone@1', 'auto-archive', 'production', 'archived'],
      ]);
      expect(history[2]).toMatchObject({ actor: 'ada', reason: 'first release' });
      const deployAudit = await harness.audit.query({ action: 'model.deploy' });
      expect(deployAudit.items[0]).toMatchObject({ actor: 'ada', outcome: 'success' });
    });

    it('rollback returns to the previous production versions one by one, then ROLLBACK_UNAVAILABLE', async () => {
      expect((await caught(() => registry.rollback('tone'))).code).toBe('NOT_FOUND');
      const v1 = await versionIn(registry, 'tone', 'production');
      expect((await caught(() => registry.rollback('tone'))).code).toBe('ROLLBACK_UNAVAILABLE');
      const v2 = await versionIn(registry, 'tone', 'production');
      const v3 = await versionIn(registry, 'tone', 'production');
      const back = await registry.rollback('tone', { reason: 'v3 regressed' });
      expect(back.id).toBe(v2.id);
      expect((await registry.require(v3.id)).stage).toBe('archived');
      expect((await registry.require(v2.id)).stage).toBe('production');
      expect(harness.eventsOf('model:rolled-back')).toEqual([
        { name: 'tone', fromVersionId: v3.id, toVersionId: v2.id },
      ]);
      expect((await registry.rollback('tone')).id).toBe(v1.id);
      expect((await caught(() => registry.rollback('tone'))).code).toBe('ROLLBACK_UNAVAILABLE');
      const productions = (await registry.versions('tone')).filter(
        (version) => version.stage === 'production',
      );
      expect(productions.map((version) => version.id)).toEqual([v1.id]);
    });

    it('demoting production clears the production pointer', async () => {
      const v1 = await versionIn(registry, 'tone', 'production');
      await registry.transition(v1.id, 'staging');
      expect((await registry.getModel('tone'))?.productionVersionId).toBeUndefined();
      expect(await registry.get('tone@production')).toBeUndefined();
    });

    it('parallel promotions in one registry leave exactly one production version', async () => {
      const candidates = await Promise.all(
        Array.from({ length: 6 }, async (_, index) => {
          const version = await registry.register(modelInput('race', { description: `candidate ${index}` }));
          return registry.transition(version.id, 'staging');
        }),
      );
      await versionIn(registry, 'race', 'production');
      const results = await Promise.allSettled(candidates.map((version) => registry.deploy(version.id)));
      expect(results.every((result) => result.status === 'fulfilled')).toBe(true);
      const all = await registry.versions('race');
      const productions = all.filter((version) => version.stage === 'production');
      expect(productions).toHaveLength(1);
      expect((await registry.getModel('race'))?.productionVersionId).toBe(productions[0]?.id);
      expect(all.filter((version) => version.stage === 'archived')).toHaveLength(all.length - 1);
    });

    it('parallel promotions and rollbacks from two registries (as two processes) leave one production version', async () => {
      const second = await harness.openSecond();
      const staged = [];
      for (let index = 0; index < 6; index += 1) staged.push(await versionIn(registry, 'shared', 'staging'));
      const base = await versionIn(registry, 'shared', 'production');
      expect(base.stage).toBe('production');
      const operations = staged.map((version, index) =>
        index % 2 === 0 ? registry.deploy(version.id) : second.deploy(version.id),
      );
      operations.push(second.rollback('shared').catch(() => undefined) as never);
      const results = await Promise.allSettled(operations);
      for (const result of results) {
        if (result.status === 'rejected') {
          expect(['CONFLICT', 'INVALID_TRANSITION', 'ROLLBACK_UNAVAILABLE']).toContain(
            (result.reason as TunekitError).code,
          );
        }
      }
      const all = await registry.versions('shared');
      const productions = all.filter((version) => version.stage === 'production');
      expect(productions).toHaveLength(1);
      expect((await second.getModel('shared'))?.productionVersionId).toBe(productions[0]?.id);
    });
  });

  describe('crash recovery and leases', () => {
    it('repairs a half-done promotion and waits for (or gives up on) another process holding the lease', async () => {
      const models = harness.storage.collection('registered-models', RegisteredModelSchema);
      const versions = harness.storage.collection('model-versions', ModelVersionSchema);
      const v1 = await versionIn(registry, 'crashy', 'production');
      const v2 = await versionIn(registry, 'crashy', 'staging');
      // A process claimed the pointer for v2 and died before changing any stage.
      await models.update('crashy', (model) => ({ ...model, productionVersionId: v2.id }));
      // Another left two versions in production.
      const v3 = await versionIn(registry, 'crashy', 'staging');
      await versions.update(v3.id, (version) => ({ ...version, stage: 'production' }));
      const v4 = await versionIn(registry, 'crashy', 'draft');
      await registry.transition(v4.id, 'staging');
      const after = await registry.versions('crashy');
      const productions = after.filter((version) => version.stage === 'production');
      expect(productions).toHaveLength(1);
      expect((await registry.getModel('crashy'))?.productionVersionId).toBe(productions[0]?.id);
      expect([v1.id, v3.id]).toContain(productions[0]?.id);

      // A lease held by a live process: stage changes wait, then give up with CONFLICT.
      const impatient = await harness.openSecond({ leaseWaitMs: 50 });
      await models.update('crashy', (model) => ({
        ...model,
        lease: { owner: 'other', expiresAt: Date.now() + 60_000 },
      }));
      const blocked = await caught(() => impatient.transition(v4.id, 'archived'));
      expect(blocked.code).toBe('CONFLICT');
      expect((await registry.require(v4.id)).stage).toBe('staging');
      // An expired lease (its holder died) is taken over.
      await models.update('crashy', (model) => ({
        ...model,
        lease: { owner: 'other', expiresAt: Date.now() - 1 },
      }));
      expect((await impatient.transition(v4.id, 'archived')).stage).toBe('archived');
      expect((await registry.getModel('crashy'))?.lease).toBeUndefined();
    });
  });

  describe('aliases and references', () => {
    it('resolves ids, aliases, stages and latest; rejects reserved aliases; deleting a version drops its aliases', async () => {
      const v1 = await versionIn(registry, 'tone', 'production');
      const v2 = await versionIn(registry, 'tone', 'staging');
      await registry.setAlias(v1.id, 'champion');
      await registry.setAlias(v2.id, 'challenger');
      expect((await registry.get('tone@champion'))?.id).toBe(v1.id);
      expect((await registry.get('tone@challenger'))?.id).toBe(v2.id);
      expect((await registry.get('tone@production'))?.id).toBe(v1.id);
      expect((await registry.get('tone@staging'))?.id).toBe(v2.id);
      expect((await registry.get('tone@latest'))?.id).toBe(v2.id);
      expect((await registry.get('tone'))?.id).toBe(v2.id);
      expect(await registry.get('tone@nothing')).toBeUndefined();
      expect((await caught(() => registry.setAlias(v1.id, 'production'))).code).toBe('VALIDATION_FAILED');
      expect((await caught(() => registry.setAlias(v1.id, 'v2'))).code).toBe('VALIDATION_FAILED');
      expect((await caught(() => registry.setAlias(v1.id, '9lives'))).code).toBe('VALIDATION_FAILED');
      await registry.setAlias(v2.id, 'champion');
      expect((await registry.get('tone@champion'))?.id).toBe(v2.id);
      expect(await registry.removeAlias('tone', 'challenger')).toBe(true);
      expect(await registry.removeAlias('tone', 'challenger')).toBe(false);
      expect((await caught(() => registry.delete(v1.id))).code).toBe('MODEL_IN_PRODUCTION');
      expect(await registry.delete(v2.id)).toBe(true);
      expect(await registry.delete(v2.id)).toBe(false);
      expect((await registry.getModel('tone'))?.aliases).toEqual({});
      expect(harness.eventsOf('model:aliased').map((event) => [event.alias, event.versionId])).toEqual([
        ['champion', v1.id],
        ['challenger', v2.id],
        ['champion', v2.id],
        ['challenger', null],
      ]);
    });
  });
});
