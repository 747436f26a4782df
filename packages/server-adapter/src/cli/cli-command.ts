/** A stream the CLI writes to (stdout or stderr), with what it knows about the terminal. */
export interface CliOutput {
  write(chunk: string): unknown;
  /** True when the stream is a terminal (progress bars and colours), false or missing otherwise. */
  readonly isTTY?: boolean;
  /** Terminal width in characters, when known. */
  readonly columns?: number;
}

/** What a command sees of its process: streams, environment, working directory and the Ctrl-C signal. */
export interface CliContext {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory relative paths resolve against. */
  readonly cwd: string;
  /** Aborted on the first SIGINT/SIGTERM: commands stop cleanly (training cancels at the next step). */
  readonly signal: AbortSignal;
}

/** Exit statuses of the `tunekit` commands. */
export const ExitCode = {
  /** Done. */
  success: 0,
  /** Failed (an error, a failed job). */
  failure: 1,
  /** The command line was wrong (unknown command or option, missing argument). */
  usage: 2,
  /** Cancelled by Ctrl-C (128 + SIGINT), as shells report it. */
  cancelled: 130,
} as const;

/** One `tunekit <name>` command: one file per command, listed in the command table. */
export interface CliCommand {
  /** The word after `tunekit`. */
  readonly name: string;
  /** One line for `tunekit --help`. */
  readonly summary: string;
  /** The full text of `tunekit <name> --help`. */
  readonly usage: string;
  /** Runs the command with the arguments after its name; resolves with the exit status. */
  run(argv: string[], context: CliContext): Promise<number>;
}

/** A wrong command line: `tunekit` prints the message and the command's usage hint and exits 2. */
export class CliUsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` to point at (none for top-level errors). */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'CliUsageError';
  }
}
