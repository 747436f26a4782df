import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3Usage,
  SharedV3Warning,
} from '@ai-sdk/provider';
import type { ChatBackend, ChatBackendMessage, ChatBackendOptions } from './chat-backend.js';

/** The AI SDK's usage record from token counts. */
function usageOf(inputTokens: number | undefined, outputTokens: number | undefined): LanguageModelV3Usage {
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: outputTokens, text: outputTokens, reasoning: undefined },
  };
}

function finishReasonOf(reason: 'stop' | 'length'): LanguageModelV3FinishReason {
  return { unified: reason, raw: reason };
}

/** The AI SDK prompt as text chat messages; parts Tunekit cannot use (files, tools, reasoning) become warnings. */
function messagesOf(prompt: LanguageModelV3Prompt, warnings: SharedV3Warning[]): ChatBackendMessage[] {
  const messages: ChatBackendMessage[] = [];
  for (const message of prompt) {
    if (message.role === 'system') {
      messages.push({ role: 'system', content: message.content });
      continue;
    }
    if (message.role === 'tool') {
      warnings.push({
        type: 'unsupported',
        feature: 'tool messages',
        details: 'Tunekit models take text only',
      });
      continue;
    }
    let content = '';
    for (const part of message.content) {
      if (part.type === 'text') content += part.text;
      else
        warnings.push({
          type: 'unsupported',
          feature: `${part.type} parts`,
          details: 'Tunekit models take text only',
        });
    }
    messages.push({ role: message.role, content });
  }
  return messages;
}

/**
 * A Tunekit model as an AI SDK language model (specification v3), usable with `generateText`,
 * `streamText` and the rest of `ai`. Generation runs on a {@link ChatBackend}: in this process or
 * on a remote Tunekit server.
 */
export class TunekitLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider: string;
  readonly supportedUrls: Record<string, RegExp[]> = {};

  constructor(
    /** A served model id: configured, `name` (production), `name@stage`, `name@3` or `job:<id>`. */
    readonly modelId: string,
    private readonly backend: ChatBackend,
  ) {
    this.provider = `tunekit.${backend.kind}`;
  }

  private prepare(options: LanguageModelV3CallOptions) {
    const warnings: SharedV3Warning[] = [];
    const unsupported = (feature: string, present: boolean) => {
      if (present) warnings.push({ type: 'unsupported', feature });
    };
    unsupported('presencePenalty', options.presencePenalty !== undefined && options.presencePenalty !== 0);
    unsupported('frequencyPenalty', options.frequencyPenalty !== undefined && options.frequencyPenalty !== 0);
    unsupported('tools', (options.tools?.length ?? 0) > 0);
    unsupported('responseFormat', options.responseFormat?.type === 'json');
    const callOptions: ChatBackendOptions = {
      maxTokens: options.maxOutputTokens,
      temperature: options.temperature,
      topP: options.topP,
      topK: options.topK,
      stop: options.stopSequences,
      seed: options.seed,
      signal: options.abortSignal,
    };
    for (const setting of this.backend.unsupported) {
      if (callOptions[setting] !== undefined) {
        warnings.push({ type: 'unsupported', feature: setting });
        delete callOptions[setting];
      }
    }
    return { messages: messagesOf(options.prompt, warnings), callOptions, warnings };
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { messages, callOptions, warnings } = this.prepare(options);
    const result = await this.backend.generate(this.modelId, messages, callOptions);
    return {
      content: [{ type: 'text', text: result.text }],
      finishReason: finishReasonOf(result.finishReason),
      usage: usageOf(result.inputTokens, result.outputTokens),
      response: { id: result.id, modelId: this.modelId, timestamp: new Date() },
      warnings,
    };
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const { messages, callOptions, warnings } = this.prepare(options);
    const chunks = this.backend.stream(this.modelId, messages, callOptions)[Symbol.asyncIterator]();
    const modelId = this.modelId;
    let started = false;
    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      async pull(controller) {
        if (!started) {
          started = true;
          controller.enqueue({ type: 'stream-start', warnings });
          controller.enqueue({ type: 'response-metadata', modelId, timestamp: new Date() });
          controller.enqueue({ type: 'text-start', id: '0' });
        }
        try {
          const next = await chunks.next();
          if (next.done) {
            controller.close();
            return;
          }
          const chunk = next.value;
          if (chunk.type === 'text') {
            controller.enqueue({ type: 'text-delta', id: '0', delta: chunk.text });
            return;
          }
          controller.enqueue({ type: 'text-end', id: '0' });
          controller.enqueue({
            type: 'finish',
            finishReason: finishReasonOf(chunk.finishReason),
            usage: usageOf(chunk.inputTokens, chunk.outputTokens),
          });
        } catch (error) {
          controller.enqueue({ type: 'error', error });
          controller.close();
        }
      },
      async cancel() {
        await chunks.return?.();
      },
    });
    return { stream };
  }
}
