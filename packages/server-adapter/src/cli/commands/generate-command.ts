import { type CliCommand, CliUsageError, ExitCode } from '../cli-command.js';
import {
  MODEL_COMMAND_OPTIONS,
  MODEL_COMMAND_OPTIONS_USAGE,
  withModelSession,
} from '../model-command-session.js';
import { parseCommandLine } from '../parse-command-line.js';

const usage = `Usage: tunekit generate <model> <prompt…> [options]

Generates text, streaming tokens to stdout as they come. <model> is a model folder, a registry
reference (notes-lora, notes-lora@production, notes-lora@3) or job:<id>.

Options:
  --max-tokens <n>     most new tokens (default 64)
  --temperature <t>    0 is greedy (default 0.8)
  --top-p <p>          nucleus sampling (default 1)
  --top-k <k>          keep the k most likely tokens (default 0: all)
  --seed <n>           same seed, same text
  --stop <text>        stop at this text (repeatable)
  --json               one JSON object at the end instead of streamed text
${MODEL_COMMAND_OPTIONS_USAGE}`;

/** `tunekit generate`: streams a generation from a model folder, a registry version or a job's output. */
export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'Generate text from a model folder or registry version (streams tokens)',
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine('generate', {
      args: argv,
      allowPositionals: true,
      options: {
        'max-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        'top-k': { type: 'string' },
        seed: { type: 'string' },
        stop: { type: 'string', multiple: true },
        ...MODEL_COMMAND_OPTIONS,
      },
    });
    const [modelArgument, ...words] = positionals;
    if (!modelArgument || words.length === 0)
      throw new CliUsageError('give a model and a prompt', 'generate');
    const number = (name: string, value: string | undefined) => {
      if (value === undefined) return undefined;
      const parsed = Number(value);
      if (!Number.isFinite(parsed))
        throw new CliUsageError(`--${name} must be a number, not "${value}"`, 'generate');
      return parsed;
    };
    const options = {
      maxTokens: number('max-tokens', values['max-tokens']) ?? 64,
      temperature: number('temperature', values.temperature) ?? 0.8,
      topP: number('top-p', values['top-p']) ?? 1,
      topK: number('top-k', values['top-k']) ?? 0,
      seed: number('seed', values.seed),
      stop: values.stop ?? [],
    };
    return withModelSession(
      context,
      modelArgument,
      { data: values.data, logLevel: values['log-level'] },
      async ({ kit, models }) => {
        const model = await models.load(modelArgument);
        const prompt = words.join(' ');
        const started = performance.now();
        let text = '';
        let tokens = 0;
        let finishReason: 'stop' | 'length' = 'length';
        for await (const chunk of model.stream(prompt, options)) {
          if (context.signal.aborted) break;
          tokens += 1;
          text += chunk.text;
          if (chunk.finishReason) finishReason = chunk.finishReason;
          if (!values.json && chunk.text) context.stdout.write(chunk.text);
        }
        const latencyMs = Math.round(performance.now() - started);
        if (values.json) {
          context.stdout.write(
            `${JSON.stringify({ model: modelArgument, text, tokens_generated: tokens, finish_reason: finishReason, latency_ms: latencyMs })}\n`,
          );
        } else {
          context.stdout.write('\n');
        }
        kit.logger.info({ model: modelArgument, tokensGenerated: tokens, latencyMs }, 'generated');
        return context.signal.aborted ? ExitCode.cancelled : ExitCode.success;
      },
    );
  },
};
