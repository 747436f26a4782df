import type { ModelRegistry } from '@tunekit/registry';
import { type CliCommand, type CliContext, CliUsageError, ExitCode } from '../cli-command.js';
import { formatRecord, formatTable } from '../format-table.js';
import { cliLoggerOf, openCliKit } from '../open-cli-kit.js';
import { onePositional, parseCommandLine } from '../parse-command-line.js';

const usage = `Usage: tunekit models <ls|show|promote|rollback|recommend> [options]

  tunekit models ls [--name <name>] [--stage draft|staging|production|archived]
  tunekit models show <name@version|name@stage>     a version, its lineage and its card
  tunekit models promote <name@version> [--to staging|production]
                                                    production archives the previous one (default: next stage)
  tunekit models rollback <name>                    production back to the previous production version
  tunekit models recommend <text> [-k 5]            versions similar to a description

Options:
  --json               JSON instead of tables
  --data <folder>      data directory (default ./.tunekit, or TUNEKIT_DATA)
  --log-level <level>  default warn (or TUNEKIT_LOG_LEVEL)
  -h, --help           this text`;

const versionColumns = [
  { header: 'ID', value: (version: Record<string, unknown>) => version.id },
  { header: 'STAGE', value: (version: Record<string, unknown>) => version.stage },
  { header: 'BASE', value: (version: Record<string, unknown>) => version.baseModel },
  { header: 'TASK', value: (version: Record<string, unknown>) => version.task },
  { header: 'CREATED', value: (version: Record<string, unknown>) => version.createdAt },
];

async function withRegistry<T>(
  context: CliContext,
  options: { data?: string; logLevel?: string },
  use: (registry: ModelRegistry) => Promise<T>,
): Promise<T> {
  const kit = await openCliKit(context, {
    data: options.data,
    plugins: ['registry'],
    logger: cliLoggerOf(context, options.logLevel, 'warn'),
  });
  try {
    return await use((kit as typeof kit & { registry: ModelRegistry }).registry);
  } finally {
    await kit.close();
  }
}

/** `tunekit models`: the registry from the shell (list, show, promote, rollback, recommend). */
export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'Model registry: ls, show, promote, rollback, recommend',
  usage,
  async run(argv, context) {
    const [action, ...rest] = argv;
    const { values, positionals } = parseCommandLine('models', {
      args: rest,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        stage: { type: 'string' },
        to: { type: 'string' },
        k: { type: 'string', short: 'k' },
        json: { type: 'boolean' },
        data: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const write = (value: unknown, text: () => string) =>
      context.stdout.write(values.json ? `${JSON.stringify(value, null, 2)}\n` : text());
    const options = { data: values.data, logLevel: values['log-level'] };
    switch (action) {
      case 'ls':
        return withRegistry(context, options, async (registry) => {
          const page = await registry.search({
            name: values.name,
            stage: values.stage as 'production' | undefined,
            limit: 1000,
          });
          write(page.items, () =>
            formatTable(page.items as unknown as Record<string, unknown>[], versionColumns),
          );
          return ExitCode.success;
        });
      case 'show':
        return withRegistry(context, options, async (registry) => {
          const version = await registry.require(onePositional('models', positionals, 'model reference'));
          const lineage = await registry.lineage(version.id);
          const readme = await registry.readme(version.id).catch(() => undefined);
          write(
            { ...version, lineage },
            () =>
              `${formatRecord(version as unknown as Record<string, unknown>)}${readme ? `\n${readme}\n` : ''}`,
          );
          return ExitCode.success;
        });
      case 'promote':
        return withRegistry(context, options, async (registry) => {
          const version = await registry.require(onePositional('models', positionals, 'model reference'));
          const target = values.to ?? (version.stage === 'draft' ? 'staging' : 'production');
          if (target !== 'staging' && target !== 'production') {
            throw new CliUsageError(`--to must be staging or production, not "${target}"`, 'models');
          }
          const promoted =
            target === 'production'
              ? await registry.deploy(version.id, {}, { actor: 'cli' })
              : await registry.transition(version.id, 'staging', {}, { actor: 'cli' });
          write(promoted, () => `${promoted.id}: ${version.stage} → ${promoted.stage}\n`);
          return ExitCode.success;
        });
      case 'rollback':
        return withRegistry(context, options, async (registry) => {
          const restored = await registry.rollback(
            onePositional('models', positionals, 'model name'),
            {},
            { actor: 'cli' },
          );
          write(restored, () => `${restored.id} is production again\n`);
          return ExitCode.success;
        });
      case 'recommend':
        return withRegistry(context, options, async (registry) => {
          const text = positionals.join(' ');
          if (!text) throw new CliUsageError('missing text to recommend for', 'models');
          const found = await registry.recommend({ text, k: values.k ? Number(values.k) : 5 });
          write(found, () =>
            formatTable(found, [
              { header: 'ID', value: (entry) => entry.model.id },
              { header: 'SCORE', value: (entry) => entry.score },
              { header: 'STAGE', value: (entry) => entry.model.stage },
              { header: 'DESCRIPTION', value: (entry) => entry.model.description },
            ]),
          );
          return ExitCode.success;
        });
      default:
        throw new CliUsageError(
          action ? `unknown action "${action}"` : 'missing action (ls, show, promote, rollback, recommend)',
          'models',
        );
    }
  },
};
