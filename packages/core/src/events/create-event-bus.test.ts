import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../logger/logger.js';
import { createEventBus } from './create-event-bus.js';

function recordingLogger() {
  const errors: Array<{ object: unknown; message?: string }> = [];
  const warnings: Array<{ object: unknown; message?: string }> = [];
  const logger: Logger = {
    trace() {},
    debug() {},
    info() {},
    warn(object, message) {
      warnings.push({ object, message });
    },
    error(object, message) {
      errors.push({ object, message });
    },
  };
  return { logger, errors, warnings };
}

describe('createEventBus', () => {
  it('delivers typed payloads to on/once listeners and stops after off or unsubscribe', () => {
    const bus = createEventBus();
    const seen: number[] = [];
    const onceSeen: number[] = [];
    const listener = (payload: { progress: number }) => seen.push(payload.progress);
    bus.on('job:progress', listener);
    bus.once('job:progress', (payload) => onceSeen.push(payload.progress));
    const base = { jobId: 'j', kind: 'k' };
    bus.emit('job:progress', { ...base, progress: 0.1 });
    bus.emit('job:progress', { ...base, progress: 0.2 });
    bus.off('job:progress', listener);
    bus.emit('job:progress', { ...base, progress: 0.3 });
    expect(seen).toEqual([0.1, 0.2]);
    expect(onceSeen).toEqual([0.1]);

    const unsubscribe = bus.on('job:cancelled', () => seen.push(-1));
    unsubscribe();
    unsubscribe();
    bus.emit('job:cancelled', { jobId: 'j', kind: 'k' });
    expect(seen).toEqual([0.1, 0.2]);
  });

  it('logs a throwing or rejecting listener and keeps calling the others', async () => {
    const { logger, errors } = recordingLogger();
    const bus = createEventBus({ logger });
    const after = vi.fn();
    bus.on('job:cancelled', () => {
      throw new Error('listener broke');
    });
    bus.on('job:cancelled', async () => {
      throw new Error('async listener broke');
    });
    bus.onAny(() => {
      throw new Error('any listener broke');
    });
    bus.on('job:cancelled', after);
    expect(() => bus.emit('job:cancelled', { jobId: 'j', kind: 'k' })).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(after).toHaveBeenCalledTimes(1);
    const messages = errors.map((entry) => (entry.object as { err: Error }).err.message).sort();
    expect(messages).toEqual(['any listener broke', 'async listener broke', 'listener broke']);
    expect(errors[0].message).toContain('job:cancelled');
  });

  it('onAny receives an envelope with name, payload and time', () => {
    const bus = createEventBus();
    const envelopes: unknown[] = [];
    const stop = bus.onAny((envelope) => envelopes.push(envelope));
    bus.emit('kit:started', { plugins: ['a'] });
    stop();
    bus.emit('kit:started', { plugins: ['b'] });
    expect(envelopes).toHaveLength(1);
    expect(envelopes[0]).toMatchObject({ name: 'kit:started', payload: { plugins: ['a'] } });
    expect(Number.isNaN(Date.parse((envelopes[0] as { time: string }).time))).toBe(false);
  });

  it('iterate buffers events emitted before they are consumed, filters by name, ends on abort', async () => {
    const bus = createEventBus();
    const controller = new AbortController();
    const iterator = bus.iterate(['job:queued', 'job:succeeded'], { signal: controller.signal });
    bus.emit('job:queued', { jobId: '1', kind: 'k' });
    bus.emit('job:cancelled', { jobId: '1', kind: 'k' });
    bus.emit('job:queued', { jobId: '2', kind: 'k' });
    const received: string[] = [];
    const consumer = (async () => {
      for await (const envelope of iterator) {
        received.push(`${envelope.name}:${envelope.payload.jobId}`);
        if (received.length === 3) {
          controller.abort();
        }
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    bus.emit('job:succeeded', { jobId: '1', kind: 'k', durationMs: 5 });
    await consumer;
    expect(received).toEqual(['job:queued:1', 'job:queued:2', 'job:succeeded:1']);
    bus.emit('job:queued', { jobId: '3', kind: 'k' });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('iterate wakes a waiting consumer when the signal aborts and unsubscribes on break', async () => {
    const bus = createEventBus();
    const controller = new AbortController();
    const iterator = bus.iterate(undefined, { signal: controller.signal });
    const waiting = iterator.next();
    setTimeout(() => controller.abort(), 10);
    expect(await waiting).toEqual({ value: undefined, done: true });

    const alreadyAborted = bus.iterate(['job:queued'], { signal: AbortSignal.abort() });
    expect(await alreadyAborted.next()).toEqual({ value: undefined, done: true });

    let count = 0;
    const all = bus.iterate();
    bus.emit('job:queued', { jobId: 'x', kind: 'k' });
    for await (const _ of all) {
      count += 1;
      break;
    }
    bus.emit('job:queued', { jobId: 'y', kind: 'k' });
    expect(count).toBe(1);
    expect(await all.next()).toEqual({ value: undefined, done: true });
  });

  it('iterate drops the oldest events beyond its buffer limit with one warning', async () => {
    const { logger, warnings } = recordingLogger();
    const bus = createEventBus({ logger, iteratorBufferLimit: 2 });
    const iterator = bus.iterate(['job:queued']);
    for (const jobId of ['1', '2', '3', '4']) {
      bus.emit('job:queued', { jobId, kind: 'k' });
    }
    const first = await iterator.next();
    const second = await iterator.next();
    expect([first.value?.payload.jobId, second.value?.payload.jobId]).toEqual(['3', '4']);
    expect(warnings).toHaveLength(1);
    await iterator.return?.();
  });
});
