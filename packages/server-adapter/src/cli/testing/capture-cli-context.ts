import type { CliContext, CliOutput } from '../cli-command.js';

/** A {@link CliContext} whose streams write into strings, for in-process command tests. */
export interface CapturedCliContext extends CliContext {
  /** Everything written to stdout so far. */
  readonly output: () => string;
  /** Everything written to stderr so far. */
  readonly errors: () => string;
  /** Aborts the context's signal, as Ctrl-C does. */
  readonly interrupt: () => void;
}

/** Creates a capturing context over a working directory (stdout not a TTY unless `isTTY`). */
export function captureCliContext(
  cwd: string,
  options: { env?: Record<string, string | undefined>; isTTY?: boolean } = {},
): CapturedCliContext {
  const written = { stdout: '', stderr: '' };
  const stream = (name: 'stdout' | 'stderr'): CliOutput => ({
    isTTY: options.isTTY ?? false,
    columns: 100,
    write(chunk: string) {
      written[name] += chunk;
      return true;
    },
  });
  const controller = new AbortController();
  return {
    stdout: stream('stdout'),
    stderr: stream('stderr'),
    env: options.env ?? {},
    cwd,
    signal: controller.signal,
    output: () => written.stdout,
    errors: () => written.stderr,
    interrupt: () => controller.abort(),
  };
}
