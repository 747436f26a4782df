import { describe, expect, it, vi } from 'vitest';
import { tunekitError } from '../errors/tunekit-error.js';
import { createEventBus } from '../events/create-event-bus.js';
import { createFeedbackService } from '../feedback/create-feedback-service.js';
import type { OperationContext } from '../kit/operation-context.js';
import { createSilentLogger } from '../logger/logger.js';
import { createStorage } from '../storage/create-storage.js';
import type { AuditEntryInput, AuditSink } from './audit-sink.js';
import { createAuditRecorder } from './create-audit-recorder.js';

function collectingSink(): AuditSink & {
  entries: Array<{ entry: AuditEntryInput; context?: OperationContext }>;
} {
  const entries: Array<{ entry: AuditEntryInput; context?: OperationContext }> = [];
  return {
    entries,
    async record(entry, context) {
      entries.push({ entry, context });
    },
  };
}

const failingSink: AuditSink = {
  async record() {
    throw new Error('disk full');
  },
};

describe('createAuditRecorder', () => {
  it('records the success of an operation with details and the id of what it created', async () => {
    const sink = collectingSink();
    const audit = createAuditRecorder({ sink, source: 'datasets' });
    const result = await audit.run(
      {
        action: 'dataset.register',
        resourceType: 'dataset-version',
        resultResourceId: (version: { id: string; rows: number }) => version.id,
        details: (version) => ({ rowCount: version.rows }),
      },
      { actor: 'alice' },
      async () => ({ id: 'dsv_1', rows: 3 }),
    );
    expect(result).toEqual({ id: 'dsv_1', rows: 3 });
    expect(sink.entries).toEqual([
      {
        entry: {
          action: 'dataset.register',
          resourceType: 'dataset-version',
          resourceId: 'dsv_1',
          outcome: 'success',
          details: { rowCount: 3 },
        },
        context: { actor: 'alice' },
      },
    ]);
  });

  it("records a failure with the error's code and message and rethrows the same error", async () => {
    const sink = collectingSink();
    const audit = createAuditRecorder({ sink, source: 'registry' });
    const error = tunekitError('NOT_FOUND', 'No registered model "x"');
    const run = audit.run(
      {
        action: 'model.register',
        resourceType: 'dataset-version',
        resourceId: 'x',
        failure: { resourceType: 'dataset', details: { modelId: 'm' } },
      },
      undefined,
      async () => {
        throw error;
      },
    );
    await expect(run).rejects.toBe(error);
    expect(sink.entries.map((item) => item.entry)).toEqual([
      {
        action: 'model.register',
        resourceType: 'dataset',
        resourceId: 'x',
        outcome: 'failure',
        details: { modelId: 'm', code: 'NOT_FOUND', message: 'No registered model "x"' },
      },
    ]);
    await expect(
      audit.run({ action: 'a.b', resourceType: 't' }, undefined, async () => {
        throw new TypeError('boom');
      }),
    ).rejects.toThrow('boom');
    expect(sink.entries.at(-1)?.entry.details).toEqual({ code: 'INTERNAL', message: 'boom' });
  });

  it('records a refusal as denied and, with codeOnly, the code without the message', async () => {
    const sink = collectingSink();
    const audit = createAuditRecorder({ sink, source: 'users' });
    const failure = {
      outcome: (error: unknown) =>
        (error as { code?: string }).code === 'CURRENT_PASSWORD_INCORRECT'
          ? ('denied' as const)
          : ('failure' as const),
      codeOnly: true,
    };
    for (const error of [
      tunekitError('CURRENT_PASSWORD_INCORRECT', 'The current password is wrong'),
      tunekitError('NOT_FOUND', 'No user "x"'),
    ]) {
      await audit
        .run(
          { action: 'user.password.change', resourceType: 'user', resourceId: 'x', failure },
          undefined,
          async () => {
            throw error;
          },
        )
        .catch(() => undefined);
    }
    expect(sink.entries.map(({ entry }) => [entry.outcome, entry.details])).toEqual([
      ['denied', { code: 'CURRENT_PASSWORD_INCORRECT' }],
      ['failure', { code: 'NOT_FOUND' }],
    ]);
  });

  it('never fails an operation because its audit entry cannot be written: it logs and warns', async () => {
    const events = createEventBus();
    const warnings: string[] = [];
    events.on('warning:raised', (warning) => warnings.push(`${warning.source}: ${warning.message}`));
    const logger = { ...createSilentLogger(), warn: vi.fn() };
    const audit = createAuditRecorder({ sink: failingSink, source: 'feedback', logger, events });
    await expect(
      audit.run({ action: 'feedback.record', resourceType: 'feedback' }, undefined, async () => 42),
    ).resolves.toBe(42);
    await expect(
      audit.record({ action: 'feedback.export', resourceType: 'dataset-version', outcome: 'success' }),
    ).resolves.toBeUndefined();
    expect(warnings).toEqual([
      'feedback: audit record of feedback.record failed: disk full',
      'feedback: audit record of feedback.export failed: disk full',
    ]);
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });

  it('records nothing without a sink', async () => {
    const audit = createAuditRecorder({ sink: undefined, source: 'datasets' });
    await expect(audit.run({ action: 'a.b', resourceType: 't' }, undefined, async () => 'ok')).resolves.toBe(
      'ok',
    );
  });

  it('is what the services use: feedback is recorded even when the audit log cannot be written', async () => {
    // Before the shared recorder, the feedback service awaited the sink directly and this call failed
    // with "disk full" after the feedback was already stored.
    const events = createEventBus();
    const warnings: string[] = [];
    events.on('warning:raised', (warning) => warnings.push(warning.message));
    const service = createFeedbackService({
      storage: await createStorage({ driver: 'memory' }),
      events,
      audit: failingSink,
    });
    const stored = await service.record({
      modelId: 'm1',
      userId: 'u1',
      input: 'hi',
      output: 'hello',
      rating: 5,
    });
    expect((await service.get(stored.id))?.rating).toBe(5);
    expect(warnings).toEqual(['audit record of feedback.record failed: disk full']);
  });
});
