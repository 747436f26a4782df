import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { type CliCommand, CliUsageError, ExitCode } from '../cli-command.js';
import { formatRecord } from '../format-table.js';
import { cliLoggerOf, openCliKit } from '../open-cli-kit.js';
import { parseCommandLine } from '../parse-command-line.js';

const usage = `Usage: tunekit export <model> <output-folder> [--adapter <folder>] [--json]

Exports a model as a merged ONNX model in the layout transformers.js loads (config.json, the
tokenizer files, onnx/model.onnx with a KV cache for decoders). <model> is a model folder (with
--adapter to merge a PEFT adapter) or a registry reference (notes-lora@production: its base model
with its adapter merged in).

Options:
  --adapter <folder>   a PEFT adapter folder to merge into the weights
  --json               what was written, as JSON
  --data <folder>      data directory (default ./.tunekit, or TUNEKIT_DATA)
  --log-level <level>  default warn (or TUNEKIT_LOG_LEVEL)
  -h, --help           this text`;

/** `tunekit export`: a merged ONNX model for transformers.js. */
export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Export a model (adapter merged) as ONNX for transformers.js',
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine('export', {
      args: argv,
      allowPositionals: true,
      options: {
        adapter: { type: 'string' },
        json: { type: 'boolean' },
        data: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [modelArgument, outputArgument] = positionals;
    if (!modelArgument || !outputArgument || positionals.length > 2) {
      throw new CliUsageError('give a model and an output folder', 'export');
    }
    const { exportModel } = await import('@tunekit/trainer');
    const outputDirectory = resolve(context.cwd, outputArgument);
    const folder = resolve(context.cwd, modelArgument);
    let cleanup: string | undefined;
    try {
      let model = folder;
      let adapter = values.adapter ? resolve(context.cwd, values.adapter) : undefined;
      if (!existsSync(folder)) {
        // A registry reference: its training job's base model, and the version's adapter files.
        const kit = await openCliKit(context, {
          data: values.data,
          plugins: ['registry'],
          logger: cliLoggerOf(context, values['log-level'], 'warn'),
        });
        try {
          const registry = (
            kit as typeof kit & {
              registry: {
                require(reference: string): Promise<{ artifactUri: string; trainingJobId?: string }>;
              };
            }
          ).registry;
          const version = await registry.require(modelArgument);
          const job = version.trainingJobId ? await kit.jobs.get(version.trainingJobId) : undefined;
          const trained = job?.input as { baseModel?: string; lora?: unknown; adapter?: string } | undefined;
          cleanup = await mkdtemp(join(tmpdir(), 'tunekit-export-'));
          for (const file of await kit.artifacts.list(`${version.artifactUri.replace(/\/+$/, '')}/`)) {
            await writeFile(join(cleanup, basename(file.uri)), await kit.artifacts.get(file.uri));
          }
          if (trained?.lora !== undefined || trained?.adapter !== undefined) {
            // A LoRA version: merged into its training job's base model.
            if (!trained.baseModel) {
              throw new CliUsageError(
                `${modelArgument} has no training job with a base model to merge into`,
                'export',
              );
            }
            model = trained.baseModel;
            adapter = cleanup;
          } else {
            // A fully fine-tuned version is a whole model folder.
            model = cleanup;
          }
        } finally {
          await kit.close();
        }
      }
      const exported = await exportModel(model, { outputDirectory, adapter });
      context.stdout.write(
        values.json
          ? `${JSON.stringify(exported)}\n`
          : formatRecord(exported as unknown as Record<string, unknown>),
      );
      return ExitCode.success;
    } finally {
      if (cleanup) await rm(cleanup, { recursive: true, force: true });
    }
  },
};
