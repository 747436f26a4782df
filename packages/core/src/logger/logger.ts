/** A pino-compatible logger interface: pass a pino instance, or anything with these methods. */
export interface Logger {
  trace(object: unknown, message?: string): void;
  debug(object: unknown, message?: string): void;
  info(object: unknown, message?: string): void;
  warn(object: unknown, message?: string): void;
  error(object: unknown, message?: string): void;
  child?(bindings: Record<string, unknown>): Logger;
}

/** A logger that discards everything (the default). */
export function createSilentLogger(): Logger {
  const noop = () => {};
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    child: () => logger,
  };
  return logger;
}
