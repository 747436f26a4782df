import { basename, resolve } from 'node:path';
import { type CliCommand, CliUsageError, ExitCode } from '../cli-command.js';
import { formatRecord, formatTable } from '../format-table.js';
import { cliLoggerOf, openCliKit } from '../open-cli-kit.js';
import { onePositional, parseCommandLine } from '../parse-command-line.js';

const usage = `Usage: tunekit datasets <add|validate|stats|ls> [options]

  tunekit datasets add <file> [--name <name>] [--kind training|validation|test]
                                      register a JSON-lines/CSV/Parquet file as a dataset version
  tunekit datasets validate <file>    check every row without registering (report of invalid rows)
  tunekit datasets stats <version-id> rows, lengths, labels, duplicates
  tunekit datasets ls                 datasets and their latest version

Options:
  --json               JSON instead of tables
  --data <folder>      data directory (default ./.tunekit, or TUNEKIT_DATA)
  --log-level <level>  default warn (or TUNEKIT_LOG_LEVEL)
  -h, --help           this text`;

/** `tunekit datasets`: register, validate and describe dataset files. */
export const datasetsCommand: CliCommand = {
  name: 'datasets',
  summary: 'Datasets: add, validate, stats, ls',
  usage,
  async run(argv, context) {
    const [action, ...rest] = argv;
    const { values, positionals } = parseCommandLine('datasets', {
      args: rest,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        kind: { type: 'string' },
        json: { type: 'boolean' },
        data: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (!['add', 'validate', 'stats', 'ls'].includes(action ?? '')) {
      throw new CliUsageError(
        action ? `unknown action "${action}"` : 'missing action (add, validate, stats, ls)',
        'datasets',
      );
    }
    const write = (value: unknown, text: () => string) =>
      context.stdout.write(values.json ? `${JSON.stringify(value, null, 2)}\n` : text());
    const kit = await openCliKit(context, {
      data: values.data,
      plugins: [],
      logger: cliLoggerOf(context, values['log-level'], 'warn'),
    });
    try {
      if (action === 'add') {
        const path = resolve(context.cwd, onePositional('datasets', positionals, 'file'));
        const version = await kit.datasets.register(
          {
            name:
              values.name ??
              basename(path)
                .replace(/\.[^.]+$/, '')
                .replace(/[^A-Za-z0-9._-]+/g, '-'),
            kind: (values.kind ?? 'training') as 'training',
            source: { path },
          },
          { actor: 'cli' },
        );
        write(version, () => formatRecord(version as unknown as Record<string, unknown>));
        return ExitCode.success;
      }
      if (action === 'validate') {
        const path = resolve(context.cwd, onePositional('datasets', positionals, 'file'));
        const result = await kit.datasets.validate({ source: { path } });
        const { report } = result;
        write(
          result,
          () =>
            formatRecord({
              fileFormat: result.fileFormat,
              rowFormat: result.rowFormat,
              totalRows: report.totalRows,
              validRows: report.validRows,
              invalidRows: report.invalidRows,
            }) + report.issues.map((issue) => `  row ${JSON.stringify(issue)}\n`).join(''),
        );
        // Invalid rows fail the command, so scripts can gate on it.
        return report.invalidRows > 0 ? ExitCode.failure : ExitCode.success;
      }
      if (action === 'stats') {
        const stats = await kit.datasets.stats(onePositional('datasets', positionals, 'version id'));
        write(stats, () => formatRecord(stats as unknown as Record<string, unknown>));
        return ExitCode.success;
      }
      const page = await kit.datasets.list({ limit: 1000 });
      write(page.items, () =>
        formatTable(page.items as unknown as Record<string, unknown>[], [
          { header: 'NAME', value: (dataset) => dataset.name },
          { header: 'KIND', value: (dataset) => dataset.kind },
          { header: 'LATEST', value: (dataset) => dataset.latestVersionId },
          { header: 'UPDATED', value: (dataset) => dataset.updatedAt },
        ]),
      );
      return ExitCode.success;
    } finally {
      await kit.close();
    }
  },
};
