import { createTunekit, type Tunekit } from '@tunekit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { passwordIssues } from './password-policy.js';
import { createUserStore, type UserStore } from './user-store.js';

describe('user store', () => {
  let kit: Tunekit;
  let users: UserStore;
  beforeEach(async () => {
    kit = await createTunekit({});
    users = createUserStore(kit);
  });
  afterEach(() => kit.close());

  it('keeps one enabled admin when two removals race (in-process mutations run one at a time)', async () => {
    await users.create({ username: 'root-one', password: 'First-Admin-11', roles: ['admin'] });
    await users.create({ username: 'root-two', password: 'Other-Admin-22', roles: ['admin'] });
    const outcomes = await Promise.allSettled([
      users.delete('root-one', { actor: 'root-two' }),
      users.update('root-two', { disabled: true }, { actor: 'root-one' }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'LAST_ADMIN', status: 409 });
    expect(await users.get('root-two')).toMatchObject({ disabled: false, roles: ['admin'] });
    // A disabled admin does not count: demoting the only enabled one is refused.
    await users.create({ username: 'root-three', password: 'Third-Admin-33', roles: ['admin'] });
    await users.update('root-three', { disabled: true });
    await expect(users.update('root-two', { roles: ['viewer'] })).rejects.toMatchObject({
      code: 'LAST_ADMIN',
    });
    await expect(users.delete('root-three')).resolves.toBeUndefined();
  });

  it('writes one audit event per operation, with the caller, success or failure', async () => {
    const context = { actor: 'root', requestId: 'req-1', ip: '127.0.0.1' };
    await users.create({ username: 'gina', password: 'Gina-Password-1', roles: ['user'] }, context);
    await expect(
      users.create({ username: 'gina', password: 'Gina-Password-1', roles: ['user'] }, context),
    ).rejects.toMatchObject({ code: 'USER_EXISTS', status: 409 });
    await users.update('gina', { roles: ['viewer'] }, context);
    await expect(users.update('nobody', { disabled: true }, context)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
    });
    await users.delete('gina', context);
    const { items } = await kit.audit.query({ order: 'asc', actor: 'root' });
    expect(items.map((event) => [event.action, event.resourceId, event.outcome, event.requestId])).toEqual([
      ['user.create', 'gina', 'success', 'req-1'],
      ['user.create', 'gina', 'failure', 'req-1'],
      ['user.update', 'gina', 'success', 'req-1'],
      ['user.update', 'nobody', 'failure', 'req-1'],
      ['user.delete', 'gina', 'success', 'req-1'],
    ]);
    expect(JSON.stringify(items)).not.toContain('scrypt');
  });

  it('records these exact audit entries: user resource, details on success, the code alone on failure, denied for a wrong current password', async () => {
    const context = { actor: 'root', requestId: 'req-2' };
    const attempts: Array<() => Promise<unknown>> = [
      () => users.create({ username: 'ivan', password: 'Ivan-Password-1', roles: ['user'] }, context),
      () => users.create({ username: 'ivan', password: 'Ivan-Password-1', roles: ['user'] }, context),
      () => users.create({ username: 42, password: 'x' } as never, context),
      () => users.update('ivan', { roles: ['viewer', 'user'] }, context),
      () => users.update('ivan', {} as never, context),
      () => users.changePassword('ivan', 'wrong-password', 'Sunny-Beach-77', context),
      () => users.changePassword('ivan', 'Ivan-Password-1', 'ivan', context),
      () => users.changePassword('ivan', 'Ivan-Password-1', 'Sunny-Beach-77', context),
      () => users.delete('ivan', context),
      () => users.delete('ivan', context),
    ];
    for (const attempt of attempts) await attempt().catch(() => undefined);
    const { items } = await kit.audit.query({ order: 'asc', actor: 'root' });
    expect(
      items.map(({ action, resourceType, resourceId, outcome, details, requestId }) => ({
        action,
        resourceType,
        resourceId,
        outcome,
        details,
        requestId,
      })),
    ).toEqual(
      [
        ['user.create', 'ivan', 'success', { roles: ['user'] }],
        ['user.create', 'ivan', 'failure', { code: 'USER_EXISTS' }],
        ['user.create', '(invalid)', 'failure', { code: 'VALIDATION_FAILED' }],
        ['user.update', 'ivan', 'success', { roles: ['viewer', 'user'], disabled: false }],
        ['user.update', 'ivan', 'failure', { code: 'VALIDATION_FAILED' }],
        ['user.password.change', 'ivan', 'denied', { code: 'CURRENT_PASSWORD_INCORRECT' }],
        ['user.password.change', 'ivan', 'failure', { code: 'VALIDATION_FAILED' }],
        ['user.password.change', 'ivan', 'success', {}],
        ['user.delete', 'ivan', 'success', {}],
        ['user.delete', 'ivan', 'failure', { code: 'NOT_FOUND' }],
      ].map(([action, resourceId, outcome, details]) => ({
        action,
        resourceType: 'user',
        resourceId,
        outcome,
        details,
        requestId: 'req-2',
      })),
    );
  });

  it('logs a failed audit write and raises a warning, and the operation still succeeds', async () => {
    const warnings: Array<{ source: string; message: string }> = [];
    kit.events.on('warning:raised', (warning) => warnings.push(warning));
    const record = kit.audit.record.bind(kit.audit);
    kit.audit.record = async () => {
      throw new Error('disk full');
    };
    try {
      await expect(
        users.create({ username: 'jana', password: 'Jana-Password-1', roles: ['user'] }),
      ).resolves.toMatchObject({ username: 'jana' });
    } finally {
      kit.audit.record = record;
    }
    expect(warnings).toEqual([{ source: 'users', message: 'audit record of user.create failed: disk full' }]);
  });

  it('changes a password only with the current one, and lists users by name', async () => {
    await users.create({ username: 'hugo', password: 'Hugo-Password-1', roles: ['user'] });
    await users.create({ username: 'anna', password: 'Anna-Password-1', roles: ['viewer'] });
    await expect(users.changePassword('hugo', 'wrong-password', 'Sunny-Beach-77')).rejects.toMatchObject({
      code: 'CURRENT_PASSWORD_INCORRECT',
      status: 403,
    });
    const before = await users.get('hugo');
    const changed = await users.changePassword('hugo', 'Hugo-Password-1', 'Sunny-Beach-77');
    expect(changed.passwordHash).not.toBe(before?.passwordHash);
    expect(changed.version).toBeGreaterThan(before?.version ?? 0);
    expect(await users.verify('hugo', 'Hugo-Password-1')).toBeUndefined();
    expect(await users.verify('hugo', 'Sunny-Beach-77')).toMatchObject({ username: 'hugo' });
    const first = await users.list({ limit: 1 });
    expect(first.items.map((user) => user.username)).toEqual(['anna']);
    const second = await users.list({ limit: 1, cursor: first.nextCursor });
    expect(second).toEqual({ items: [expect.objectContaining({ username: 'hugo' })] });
  });
});

describe('password policy', () => {
  it('wants 10+ characters, 5+ different ones, and not the username', () => {
    expect(passwordIssues('Tulip-Garden-42', 'carol')).toEqual([]);
    expect(passwordIssues('short', 'carol')).toEqual(['must have at least 10 characters']);
    expect(passwordIssues('abababababab', 'carol')).toEqual(['must use at least 5 different characters']);
    expect(passwordIssues('i-am-CAROL-2024', 'carol')).toEqual(['must not contain the username']);
  });
});
