import { describe, expect, it } from 'vitest';
import { createExposureTokens } from './exposure-tokens.js';

describe('exposure tokens', () => {
  const key = new Uint8Array(32).fill(7);
  const claims = { testId: 't1', unitId: 'u1', variant: 'a', principal: 'alice' };
  const expected = { testId: 't1', unitId: 'u1', principal: 'alice' };

  it('verifies what it issued until it expires', () => {
    let time = 1_000_000;
    const tokens = createExposureTokens(key, 60_000, () => time);
    const { token, expiresAt } = tokens.issue(claims);
    expect(expiresAt).toBe(new Date(1_060_000).toISOString());
    expect(tokens.verify(token, expected)).toMatchObject({ t: 't1', u: 'u1', v: 'a', p: 'alice' });
    time = 1_060_000;
    expect(() => tokens.verify(token, expected)).toThrow(/expired/);
  });

  it('rejects tokens of another key, test, unit or caller', () => {
    const tokens = createExposureTokens(key, 60_000);
    const { token } = tokens.issue(claims);
    const other = createExposureTokens(new Uint8Array(32).fill(8), 60_000);
    expect(() => other.verify(token, expected)).toThrow(/signature/);
    expect(() => tokens.verify(token, { ...expected, testId: 't2' })).toThrow(/another test/);
    expect(() => tokens.verify(token, { ...expected, unitId: 'u2' })).toThrow(/another unit/);
    expect(() => tokens.verify(token, { ...expected, principal: 'bob' })).toThrow(/another caller/);
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => createExposureTokens(new Uint8Array(16), 1000)).toThrow(RangeError);
  });
});
