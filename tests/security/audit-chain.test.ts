import {
  AUDIT_EVENTS_COLLECTION,
  AUDIT_HEAD_COLLECTION,
  type AuditEvent,
  AuditEventSchema,
  hashAuditEvent,
} from '@tunekit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adapters, call, type SecurityFixture, startSecurityFixture } from './security-fixture.js';

const auditKey = 'security-audit-key-kept-outside-the-database';

/**
 * Issue 15, medium: the audit chain was an unkeyed hash with no route to verify it or export its head,
 * so re-chaining after an edit, or deleting the tail and rewinding the head, verified as valid. With
 * an audit key (outside the database) each event carries an HMAC link, `POST /audit/verify` reports
 * the first broken one, and `GET /audit/head` exports a signed head that a truncated log fails.
 */
describe.each(adapters)('keyed audit chain on %s', (adapter) => {
  let fixture: SecurityFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  /** Edits event `at` in the database and re-hashes and re-chains everything after it (no key needed). */
  async function rewriteFrom(current: SecurityFixture, at: number): Promise<void> {
    const events = current.kit.storage.collection(AUDIT_EVENTS_COLLECTION, AuditEventSchema);
    const all: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await events.list({ sort: { field: 'sequence', direction: 'asc' }, limit: 1000, cursor });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    let previousHash = all[at - 2]?.hash as string;
    for (const event of all.slice(at - 1)) {
      const edited = {
        ...event,
        ...(event.sequence === at ? { actor: 'mallory', outcome: 'success' as const } : {}),
        previousHash,
      };
      previousHash = hashAuditEvent(edited);
      await events.set({ ...edited, hash: previousHash });
    }
    const heads = current.kit.storage.collection(
      AUDIT_HEAD_COLLECTION,
      z.object({ id: z.string() }).passthrough(),
    );
    await heads.set({ id: 'head', sequence: all.length, hash: previousHash, mac: all.at(-1)?.mac });
  }

  it('detects a tampered audit row that was re-hashed and re-chained', async () => {
    fixture = await startSecurityFixture(adapter, {}, {}, { audit: { key: auditKey } });
    const admin = await fixture.as('admin');
    // A few audited requests: a denied one is what an attacker would like to erase.
    await call(`${fixture.url}/audit/logs`, 'GET', await fixture.as('viewer'));
    await call(`${fixture.url}/train`, 'POST', await fixture.as('bob'), { nothing: true });
    const before = await call(`${fixture.url}/audit/verify`, 'POST', admin, {});
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ valid: true, keyed: true, unkeyed_events: 0 });
    const denied = (await fixture.kit.audit.query({ actor: 'viewer', outcome: 'denied' }))
      .items[0] as AuditEvent;
    await rewriteFrom(fixture, denied.sequence);
    const after = await call(`${fixture.url}/audit/verify`, 'POST', admin, {});
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ valid: false, broken_at: denied.sequence, keyed: true });
    expect(String(after.body.reason)).toMatch(/MAC/);
  });

  it('detects a deleted tail with a rewound head against an exported head', async () => {
    fixture = await startSecurityFixture(adapter, {}, {}, { audit: { key: auditKey } });
    const admin = await fixture.as('admin');
    for (let index = 0; index < 3; index += 1) {
      await call(`${fixture.url}/train`, 'POST', await fixture.as('bob'), { nothing: index });
    }
    const exported = await call(`${fixture.url}/audit/head`, 'GET', admin);
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({ sequence: expect.any(Number), signature: expect.any(String) });
    const head = exported.body;
    const sequence = Number(head.sequence);
    expect((await call(`${fixture.url}/audit/verify`, 'POST', admin, { head })).body).toMatchObject({
      valid: true,
    });
    // Delete the last two events and rewind the head to the one before: the chain itself is consistent.
    const events = fixture.kit.storage.collection(AUDIT_EVENTS_COLLECTION, AuditEventSchema);
    const bySequence = async (value: number) =>
      (await events.list({ filter: { sequence: value }, limit: 1 })).items[0] as AuditEvent;
    const kept = await bySequence(sequence - 2);
    await events.delete((await bySequence(sequence)).id);
    await events.delete((await bySequence(sequence - 1)).id);
    const heads = fixture.kit.storage.collection(
      AUDIT_HEAD_COLLECTION,
      z.object({ id: z.string() }).passthrough(),
    );
    await heads.set({ id: 'head', sequence: sequence - 2, hash: kept.hash, mac: kept.mac });
    const plain = await call(`${fixture.url}/audit/verify`, 'POST', admin, {});
    expect(plain.body).toMatchObject({ valid: true });
    const against = await call(`${fixture.url}/audit/verify`, 'POST', admin, { head });
    expect(against.body).toMatchObject({ valid: false, broken_at: sequence - 1 });
    // A head with an edited field no longer matches its signature.
    const forged = await call(`${fixture.url}/audit/verify`, 'POST', admin, {
      head: { ...head, sequence: sequence - 2, hash: kept.hash, mac: kept.mac },
    });
    expect(forged.body).toMatchObject({ valid: false });
    expect(String(forged.body.reason)).toMatch(/not signed/);
  });

  it('keeps verify and head export to admins, and answers 503 AUDIT_KEY_MISSING without a key', async () => {
    fixture = await startSecurityFixture(adapter);
    for (const user of ['alice', 'viewer'] as const) {
      const headers = await fixture.as(user);
      expect((await call(`${fixture.url}/audit/verify`, 'POST', headers, {})).status).toBe(403);
      expect((await call(`${fixture.url}/audit/head`, 'GET', headers)).status).toBe(403);
    }
    const admin = await fixture.as('admin');
    const head = await call(`${fixture.url}/audit/head`, 'GET', admin);
    expect(head.status).toBe(503);
    expect(head.body.code).toBe('AUDIT_KEY_MISSING');
    expect((await call(`${fixture.url}/audit/verify`, 'POST', admin, {})).body).toMatchObject({
      valid: true,
      keyed: false,
    });
  });
});
