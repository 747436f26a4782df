import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { type CliCommand, CliUsageError, ExitCode } from '../cli-command.js';
import { formatTable } from '../format-table.js';
import {
  MODEL_COMMAND_OPTIONS,
  MODEL_COMMAND_OPTIONS_USAGE,
  withModelSession,
} from '../model-command-session.js';
import { parseCommandLine } from '../parse-command-line.js';

const usage = `Usage: tunekit eval <model> <dataset> [options]

Evaluates a model (a folder, a registry reference such as notes-lora@production, or job:<id>) on a
dataset (a JSON-lines/CSV/Parquet file, registered first, or a dataset version id) with the kit's
evaluators, and prints each metric with its bootstrap confidence interval. The evaluation is
stored (the registry and the dashboard show it).

Options:
  --evaluators <list>  comma-separated (default exact-match,token-f1,rouge-l; also accuracy, bleu, latency …)
  --limit <n>          only the first n rows
  --max-tokens <n>     most generated tokens per row (default 32)
  --json               the evaluation record as JSON
${MODEL_COMMAND_OPTIONS_USAGE}`;

/** `tunekit eval`: evaluates a model on a dataset with the kit's evaluators. */
export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'Evaluate a model on a dataset (metrics with confidence intervals)',
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine('eval', {
      args: argv,
      allowPositionals: true,
      options: {
        evaluators: { type: 'string' },
        limit: { type: 'string' },
        'max-tokens': { type: 'string' },
        ...MODEL_COMMAND_OPTIONS,
      },
    });
    const [modelArgument, datasetArgument] = positionals;
    if (!modelArgument || !datasetArgument || positionals.length > 2) {
      throw new CliUsageError('give a model and a dataset', 'eval');
    }
    return withModelSession(
      context,
      modelArgument,
      { data: values.data, logLevel: values['log-level'] },
      async ({ kit, models }) => {
        const datasetPath = resolve(context.cwd, datasetArgument);
        let dataset = datasetArgument;
        if (existsSync(datasetPath)) {
          const name = basename(datasetPath)
            .replace(/\.[^.]+$/, '')
            .replace(/[^A-Za-z0-9._-]+/g, '-');
          // Registered under the file's name, with the kind the name already has (a new name: test).
          const kind = (await kit.datasets.get(name))?.kind ?? 'test';
          dataset = (
            await kit.datasets.register({ name, kind, source: { path: datasetPath } }, { actor: 'cli' })
          ).id;
        }
        const evaluation = await kit.evaluators.evaluate(
          {
            model: models.predictor(modelArgument, {
              temperature: 0,
              maxTokens: values['max-tokens'] ? Number(values['max-tokens']) : 32,
            }),
            dataset,
            evaluators: (values.evaluators ?? 'exact-match,token-f1,rouge-l')
              .split(',')
              .map((name) => name.trim()),
            limit: values.limit ? Number(values.limit) : undefined,
            signal: context.signal,
          },
          { actor: 'cli' },
        );
        if (values.json) {
          context.stdout.write(`${JSON.stringify(evaluation, null, 2)}\n`);
        } else {
          const rows = Object.entries(evaluation.metrics).map(([metric, value]) => ({ metric, ...value }));
          context.stdout.write(
            formatTable(rows, [
              { header: 'METRIC', value: (row) => row.metric },
              { header: 'VALUE', value: (row) => row.value },
              { header: 'LOWER', value: (row) => row.lower },
              { header: 'UPPER', value: (row) => row.upper },
            ]),
          );
          context.stdout.write(`evaluation ${evaluation.id} of ${modelArgument}\n`);
        }
        return ExitCode.success;
      },
    );
  },
};
