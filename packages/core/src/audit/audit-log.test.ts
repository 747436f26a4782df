import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AuditEvent, AuditEventSchema } from '../schemas/audit-event.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import {
  AUDIT_EVENTS_COLLECTION,
  AUDIT_GENESIS_HASH,
  AUDIT_HEAD_COLLECTION,
  createAuditLog,
  hashAuditEvent,
  macAuditEvent,
} from './audit-log.js';

const opened: Storage[] = [];
async function memoryStorage(): Promise<Storage> {
  const storage = await createStorage({ driver: 'memory' });
  opened.push(storage);
  return storage;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((storage) => storage.close()));
});

async function seeded(count: number, key?: string) {
  const storage = await memoryStorage();
  let tick = Date.parse('2025-01-01T00:00:00.000Z');
  const audit = createAuditLog({
    storage,
    key,
    now: () => {
      tick += 60_000;
      return new Date(tick);
    },
  });
  for (let index = 1; index <= count; index += 1) {
    await audit.record(
      {
        action: index % 2 === 0 ? 'dataset.register' : 'job.submit',
        resourceType: index % 2 === 0 ? 'dataset' : 'job',
        resourceId: `r${index}`,
        outcome: index === 3 ? 'denied' : 'success',
        details: { index, when: new Date(0) },
      },
      { actor: index <= 3 ? 'alice' : 'bob', requestId: `req-${index}`, ip: '10.0.0.1' },
    );
  }
  const events = storage.collection(AUDIT_EVENTS_COLLECTION, AuditEventSchema);
  const bySequence = async (sequence: number) =>
    (await events.list({ filter: { sequence }, limit: 1 })).items[0];
  return { storage, audit, events, bySequence };
}

describe('audit log', () => {
  it('records chained events with actor, request and details', async () => {
    const { audit, bySequence } = await seeded(3);
    const first = await bySequence(1);
    const second = await bySequence(2);
    expect(first).toMatchObject({
      sequence: 1,
      actor: 'alice',
      action: 'job.submit',
      resourceType: 'job',
      resourceId: 'r1',
      outcome: 'success',
      requestId: 'req-1',
      ip: '10.0.0.1',
      details: { index: 1, when: '1970-01-01T00:00:00.000Z' },
      previousHash: AUDIT_GENESIS_HASH,
      time: '2025-01-01T00:01:00.000Z',
    });
    expect(first.hash).toBe(hashAuditEvent(first));
    expect(second.previousHash).toBe(first.hash);
    expect(await audit.verify()).toEqual({ valid: true, checked: 3, keyed: false, unkeyedEvents: 0 });
    const system = await audit.append({ action: 'kit.start', resourceType: 'kit', outcome: 'success' });
    expect(system).toMatchObject({ actor: 'system', sequence: 4, details: {} });
  });

  it('serializes concurrent appends into one unbroken chain', async () => {
    const storage = await memoryStorage();
    const audit = createAuditLog({ storage });
    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        audit.record({
          action: 'feedback.create',
          resourceType: 'feedback',
          resourceId: String(index),
          outcome: 'success',
        }),
      ),
    );
    const page = await audit.query({ order: 'asc', limit: 100 });
    expect(page.items.map((event) => event.sequence)).toEqual(
      Array.from({ length: 40 }, (_, index) => index + 1),
    );
    expect(await audit.verify()).toEqual({ valid: true, checked: 40, keyed: false, unkeyedEvents: 0 });
  });

  it('rejects a malformed entry with a readable validation error', async () => {
    const audit = createAuditLog({ storage: await memoryStorage() });
    await expect(
      audit.record({ action: '', resourceType: 'x', outcome: 'maybe' as never }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/action.*outcome/s),
    });
    await expect(audit.query({ from: 'not a date' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('queries by actor, action (with prefix), resource, outcome and time range, with pagination', async () => {
    const { audit } = await seeded(7);
    expect((await audit.query({ actor: 'alice' })).items.map((event) => event.sequence)).toEqual([3, 2, 1]);
    expect(
      (await audit.query({ action: 'dataset.register' })).items.map((event) => event.resourceId),
    ).toEqual(['r6', 'r4', 'r2']);
    expect((await audit.query({ action: 'dataset.*', actor: 'bob' })).items).toHaveLength(2);
    expect(
      (await audit.query({ resourceType: 'job', resourceId: 'r5' })).items.map((event) => event.sequence),
    ).toEqual([5]);
    expect((await audit.query({ outcome: 'denied' })).items.map((event) => event.sequence)).toEqual([3]);
    const range = await audit.query({
      from: '2025-01-01T00:02:00.000Z',
      to: new Date('2025-01-01T00:05:00.000Z'),
      order: 'asc',
    });
    expect(range.items.map((event) => event.sequence)).toEqual([2, 3, 4]);
    const first = await audit.query({ limit: 3 });
    expect(first.items.map((event) => event.sequence)).toEqual([7, 6, 5]);
    const second = await audit.query({ limit: 3, cursor: first.nextCursor });
    expect(second.items.map((event) => event.sequence)).toEqual([4, 3, 2]);
    const third = await audit.query({ limit: 3, cursor: second.nextCursor });
    expect(third.items.map((event) => event.sequence)).toEqual([1]);
    expect(third.nextCursor).toBeUndefined();
  });

  it('detects an edited event', async () => {
    const { audit, events, bySequence } = await seeded(5);
    const third = await bySequence(3);
    await events.set({ ...third, outcome: 'success' });
    expect(await audit.verify()).toEqual({
      valid: false,
      checked: 2,
      brokenAt: 3,
      eventId: third.id,
      reason: 'event 3 does not match its hash (edited)',
      keyed: false,
      unkeyedEvents: 0,
    });
  });

  it('detects an edit that also recomputes the event hash (the next link breaks)', async () => {
    const { audit, events, bySequence } = await seeded(5);
    const second = await bySequence(2);
    const forged = { ...second, actor: 'mallory' };
    await events.set({ ...forged, hash: hashAuditEvent(forged) });
    const result = await audit.verify();
    expect(result).toMatchObject({ valid: false, brokenAt: 3, checked: 2 });
    expect(result.reason).toMatch(/does not chain/);
  });

  it('detects a deleted event in the middle and at the end', async () => {
    const { audit, events, bySequence } = await seeded(5);
    await events.delete((await bySequence(3)).id);
    expect(await audit.verify()).toMatchObject({
      valid: false,
      checked: 2,
      brokenAt: 3,
      reason: expect.stringMatching(/missing/),
    });

    const tail = await seeded(4);
    await tail.events.delete((await tail.bySequence(4)).id);
    expect(await tail.audit.verify()).toMatchObject({
      valid: false,
      checked: 3,
      brokenAt: 4,
      reason: 'events 4 to 4 are missing (deleted from the end)',
    });
  });

  it('detects reordered events (sequence numbers swapped)', async () => {
    const { audit, events, bySequence } = await seeded(4);
    const second = await bySequence(2);
    const third = await bySequence(3);
    await events.set({ ...second, sequence: 3 });
    await events.set({ ...third, sequence: 2 });
    const result = await audit.verify();
    expect(result).toMatchObject({ valid: false, checked: 1, brokenAt: 2, eventId: third.id });
    expect(result.reason).toMatch(/does not chain/);
  });

  it('keeps the chain across reopening a SQLite store', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-audit-'));
    const path = join(directory, 'audit.sqlite');
    const first = await createStorage({ driver: 'sqlite', path });
    await createAuditLog({ storage: first }).record({ action: 'a.b', resourceType: 'a', outcome: 'success' });
    await first.close();
    const second = await createStorage({ driver: 'sqlite', path });
    opened.push(second);
    const audit = createAuditLog({ storage: second });
    const event = await audit.append({ action: 'a.c', resourceType: 'a', outcome: 'failure' });
    expect(event.sequence).toBe(2);
    expect(await audit.verify()).toEqual({ valid: true, checked: 2, keyed: false, unkeyedEvents: 0 });
  });
});

describe('keyed audit chain', () => {
  const key = 'audit-key-of-at-least-thirty-two-characters';

  /** What an attacker with write access to the database does: edit event `at`, then re-hash and re-chain everything after it and move the head. */
  async function rechain(
    storage: Storage,
    events: Awaited<ReturnType<typeof seeded>>['events'],
    count: number,
    at: number,
  ) {
    let previousHash: string | undefined;
    for (let sequence = 1; sequence <= count; sequence += 1) {
      const event = (await events.list({ filter: { sequence }, limit: 1 })).items[0] as AuditEvent;
      if (sequence < at) {
        previousHash = event.hash;
        continue;
      }
      const edited = {
        ...event,
        ...(sequence === at ? { actor: 'mallory' } : {}),
        previousHash: previousHash as string,
      };
      const hash = hashAuditEvent(edited);
      await events.set({ ...edited, hash });
      previousHash = hash;
    }
    const heads = storage.collection(AUDIT_HEAD_COLLECTION, z.object({ id: z.string() }).passthrough());
    await heads.set({ id: 'head', sequence: count, hash: previousHash });
  }

  it('links every event with a MAC and verifies them', async () => {
    const { audit, bySequence } = await seeded(4, key);
    const first = await bySequence(1);
    const second = await bySequence(2);
    expect(first.mac).toBe(macAuditEvent(key, AUDIT_GENESIS_HASH, first.hash));
    expect(second.mac).toBe(macAuditEvent(key, first.mac as string, second.hash));
    expect(await audit.verify()).toEqual({ valid: true, checked: 4, keyed: true, unkeyedEvents: 0 });
  });

  it('detects an edit re-chained by someone without the key (the unkeyed chain does not)', async () => {
    const { storage, audit, events } = await seeded(5, key);
    await rechain(storage, events, 5, 2);
    // The hash chain alone is fooled: this is what the key is for.
    expect(await createAuditLog({ storage }).verify()).toMatchObject({ valid: true, keyed: false });
    const result = await audit.verify();
    expect(result).toMatchObject({ valid: false, brokenAt: 2, checked: 1, keyed: true });
    expect(result.reason).toMatch(/does not match its MAC/);
  });

  it('detects a stripped MAC and a log written with another key', async () => {
    const { audit, events, bySequence } = await seeded(3, key);
    const third = await bySequence(3);
    const { mac: _mac, ...stripped } = third;
    await events.set(stripped);
    expect(await audit.verify()).toMatchObject({
      valid: false,
      brokenAt: 3,
      reason: expect.stringMatching(/no MAC/),
    });
    const other = await seeded(2, key);
    const wrongKey = createAuditLog({ storage: other.storage, key: `${key}-other` });
    expect(await wrongKey.verify()).toMatchObject({ valid: false, brokenAt: 1 });
  });

  it('detects a deleted tail with a rewound head against an exported head', async () => {
    const { storage, audit, events, bySequence } = await seeded(5, key);
    const exported = await audit.exportHead();
    expect(exported).toMatchObject({
      sequence: 5,
      hash: (await bySequence(5)).hash,
      mac: (await bySequence(5)).mac,
    });
    expect(await audit.verify({ head: exported })).toMatchObject({ valid: true, checked: 5 });
    // Delete events 4 and 5 and rewind the head to event 3: the chain itself is consistent again.
    const third = await bySequence(3);
    await events.delete((await bySequence(5)).id);
    await events.delete((await bySequence(4)).id);
    const heads = storage.collection(AUDIT_HEAD_COLLECTION, z.object({ id: z.string() }).passthrough());
    await heads.set({ id: 'head', sequence: 3, hash: third.hash, mac: third.mac });
    expect(await audit.verify()).toMatchObject({ valid: true, checked: 3 });
    expect(await audit.verify({ head: exported })).toMatchObject({
      valid: false,
      brokenAt: 4,
      reason: 'events 4 to 5 of the exported head are missing (deleted from the end)',
    });
    // A head whose signature does not match is refused (forged or from another key).
    const forged = { ...exported, sequence: 3, hash: third.hash, mac: third.mac as string };
    expect(await audit.verify({ head: forged })).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/not signed with this audit key/),
    });
  });

  it('accepts events written before the key as an unkeyed prefix, and needs a key to export', async () => {
    const storage = await memoryStorage();
    const unkeyed = createAuditLog({ storage });
    await unkeyed.record({ action: 'a.b', resourceType: 'a', outcome: 'success' });
    await expect(unkeyed.exportHead()).rejects.toMatchObject({ code: 'AUDIT_KEY_MISSING' });
    const keyed = createAuditLog({ storage, key });
    await keyed.record({ action: 'a.c', resourceType: 'a', outcome: 'success' });
    expect(await keyed.verify()).toEqual({ valid: true, checked: 2, keyed: true, unkeyedEvents: 1 });
    expect(() => createAuditLog({ storage, key: 'short' })).toThrow(/at least 32/);
  });
});
