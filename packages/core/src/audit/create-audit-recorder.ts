import { TunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { OperationContext } from '../kit/operation-context.js';
import type { Logger } from '../logger/logger.js';
import type { AuditEntryInput, AuditSink } from './audit-sink.js';

/** Options of {@link createAuditRecorder}. */
export interface AuditRecorderOptions {
  /** Where entries go (the kit's audit log); without one, nothing is recorded. */
  sink: AuditSink | undefined;
  /** The service that records (`datasets`, `registry` …), named in the warning of a failed write. */
  source: string;
  /** Logs a failed write (warn). */
  logger?: Logger;
  /** Receives `warning:raised` when an entry cannot be written. */
  events?: Pick<EventBus, 'emit'>;
}

/** One mutating operation, as {@link AuditRecorder.run} records it. */
export interface AuditedOperation<T> {
  /** Verb in `noun.verb` form (`dataset.register`, `model.transition`). */
  action: string;
  resourceType: string;
  resourceId?: string;
  /** The success entry's resource id when the operation creates it (a new version's id). */
  resultResourceId?: (result: T) => string | undefined;
  /** Details of the success entry, from the operation's result. */
  details?: (result: T) => Record<string, unknown> | undefined;
  /**
   * The failure entry, where it differs from the success one: another resource (a dataset name when
   * no version was created) and details besides the error's `code` and `message`, which are
   * recorded unless `codeOnly` is set.
   */
  failure?: {
    resourceType?: string;
    resourceId?: string;
    details?: Record<string, unknown>;
    /** The entry's outcome for an error: `denied` for a refusal (a wrong current password); default `failure`. */
    outcome?: (error: unknown) => 'failure' | 'denied';
    /** Records the error's `code` without its `message` (the user store's entries). */
    codeOnly?: boolean;
  };
}

/**
 * The one way core's services and the registry write audit entries: {@link AuditRecorder.run} wraps a
 * mutating operation (success entry with its details, or failure entry with the error's code and
 * message, then the error rethrown) and {@link AuditRecorder.record} writes one entry.
 */
export interface AuditRecorder {
  /**
   * Writes one entry. Never throws: a failed write is logged and raised as `warning:raised`, because
   * the operation it describes has already happened.
   */
  record(entry: AuditEntryInput, context?: OperationContext): Promise<void>;
  /** Runs `work` and records its outcome; returns its result or rethrows its error. */
  run<T>(
    operation: AuditedOperation<T>,
    context: OperationContext | undefined,
    work: () => Promise<T>,
  ): Promise<T>;
}

/** The `code` and `message` of an error, as failure entries record them (`INTERNAL` for an uncoded error). */
export function auditErrorDetails(error: unknown): { code: string; message: string } {
  return {
    code: TunekitError.isInstance(error) ? error.code : 'INTERNAL',
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Creates the {@link AuditRecorder} of a service over the kit's audit sink. */
export function createAuditRecorder(options: AuditRecorderOptions): AuditRecorder {
  const record = async (entry: AuditEntryInput, context?: OperationContext): Promise<void> => {
    if (options.sink === undefined) return;
    try {
      await options.sink.record(entry, context);
    } catch (error) {
      options.logger?.warn({ err: error, action: entry.action }, 'audit record failed');
      options.events?.emit('warning:raised', {
        source: options.source,
        message: `audit record of ${entry.action} failed: ${(error as Error).message}`,
      });
    }
  };
  return {
    record,
    async run(operation, context, work) {
      let result: Awaited<ReturnType<typeof work>>;
      try {
        result = await work();
      } catch (error) {
        const { failure } = operation;
        const { code, message } = auditErrorDetails(error);
        await record(
          {
            action: operation.action,
            resourceType: failure?.resourceType ?? operation.resourceType,
            resourceId: failure?.resourceId ?? operation.resourceId,
            outcome: failure?.outcome?.(error) ?? 'failure',
            details: { ...failure?.details, code, ...(failure?.codeOnly ? {} : { message }) },
          },
          context,
        );
        throw error;
      }
      await record(
        {
          action: operation.action,
          resourceType: operation.resourceType,
          resourceId: operation.resultResourceId?.(result) ?? operation.resourceId,
          outcome: 'success',
          details: operation.details?.(result),
        },
        context,
      );
      return result;
    },
  };
}
