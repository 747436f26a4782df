import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveAuditKey } from './audit-options.js';

describe('resolveAuditKey', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tunekit-audit-options-'));
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it('generates <data>/audit-key once (0600) when asked, and reads it back after', async () => {
    const generated = await resolveAuditKey({}, directory, { generate: true });
    const file = join(directory, 'audit-key');
    expect(generated).toMatchObject({ source: 'file', file, created: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const key = (await readFile(file, 'utf8')).trim();
    expect(generated.options).toEqual({ audit: { key } });
    expect(await resolveAuditKey({}, directory, { generate: true })).toMatchObject({
      created: false,
      options: { audit: { key } },
    });
    // Commands that only open the data directory use the stored key.
    expect(await resolveAuditKey({}, directory, { generate: false })).toMatchObject({
      source: 'file',
      options: { audit: { key } },
    });
  });

  it('never generates without `generate`, ignores a short key, and lets TUNEKIT_AUDIT_KEY win', async () => {
    expect(await resolveAuditKey({}, directory, { generate: false })).toEqual({
      options: {},
      source: 'none',
      created: false,
    });
    await expect(stat(join(directory, 'audit-key'))).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(join(directory, 'audit-key'), 'short\n', { mode: 0o644 });
    expect((await resolveAuditKey({}, directory, { generate: false })).source).toBe('none');
    const key = 'an-explicit-audit-key-of-at-least-32-chars';
    expect(await resolveAuditKey({ TUNEKIT_AUDIT_KEY: key }, directory, { generate: true })).toEqual({
      options: { audit: { key } },
      source: 'environment',
      created: false,
    });
    expect((await readFile(join(directory, 'audit-key'), 'utf8')).trim()).toBe('short');
  });
});
