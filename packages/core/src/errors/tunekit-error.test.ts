import { describe, expect, it } from 'vitest';
import { ErrorCodes } from './error-codes.js';
import { relayedTunekitError, TunekitError, tunekitError } from './tunekit-error.js';

describe('tunekitError', () => {
  it('takes the HTTP status from the catalogue', () => {
    for (const code of ['NOT_FOUND', 'CONFLICT', 'VALIDATION_FAILED', 'ROUTE_INVALID'] as const) {
      expect(tunekitError(code, 'm').status).toBe(ErrorCodes[code].status);
    }
    expect(tunekitError('UNSUPPORTED_MEDIA_TYPE', 'm').status).toBe(415);
  });

  it('keeps code, message, details and cause, and is detected by isInstance', () => {
    const cause = new Error('disk');
    const error = tunekitError('NOT_FOUND', 'No model "a@1"', { reference: 'a@1' }, { cause });
    expect(TunekitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      message: 'No model "a@1"',
      details: { reference: 'a@1' },
    });
    expect(error.cause).toBe(cause);
    expect(tunekitError('NOT_FOUND', 'm').details).toEqual({});
  });
});

describe('TunekitError', () => {
  it('takes the status of a catalogue code from the catalogue when none is given', () => {
    expect(new TunekitError({ code: 'CONFLICT', message: 'm' }).status).toBe(409);
  });

  it('keeps an explicit status for a code outside the catalogue, else 500', () => {
    expect(new TunekitError({ code: 'REMOTE_FAILED', status: 502, message: 'm' }).status).toBe(502);
    expect(new TunekitError({ code: 'REMOTE_FAILED', message: 'm' }).status).toBe(500);
    expect(new TunekitError({ code: 'toString', message: 'm' }).status).toBe(500);
  });

  it('relays the code, status and details another side reported, even outside the catalogue', () => {
    const cause = new Error('socket');
    const relayed = relayedTunekitError(
      { code: 'NOT_FOUND', status: 410, message: 'gone', details: { id: 'a' } },
      { cause },
    );
    expect(relayed.toJSON()).toEqual({
      name: 'TunekitError',
      code: 'NOT_FOUND',
      status: 410,
      message: 'gone',
      details: { id: 'a' },
    });
    expect(relayed.cause).toBe(cause);
    expect(relayedTunekitError({ code: 'REMOTE_FAILED', status: 502, message: 'm' }).details).toEqual({});
  });
});
