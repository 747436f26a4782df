import type { ModelCache } from '../inference/model-cache.js';
import type { ChatBackend } from './chat-backend.js';

/**
 * Generates in this process with the server's model cache (configured models, registry references
 * such as `notes-lora@production` or a bare name, `job:<id>`), through the model's chat template.
 */
export function localChatBackend(models: ModelCache): ChatBackend {
  return {
    kind: 'local',
    unsupported: [],
    async generate(modelId, messages, options) {
      const model = await models.load(modelId);
      const prompt = model.chatPrompt(messages);
      const result = await model.generate(prompt, generationOptions(options));
      return {
        text: result.text,
        finishReason: result.finishReason,
        inputTokens: model.countTokens(prompt),
        outputTokens: result.tokensGenerated,
      };
    },
    async *stream(modelId, messages, options) {
      const model = await models.load(modelId);
      const prompt = model.chatPrompt(messages);
      let count = 0;
      let finishReason: 'stop' | 'length' = 'length';
      for await (const chunk of model.stream(prompt, generationOptions(options))) {
        if (options.signal?.aborted) return;
        count += 1;
        if (chunk.finishReason) finishReason = chunk.finishReason;
        if (chunk.text) yield { type: 'text', text: chunk.text };
      }
      yield { type: 'finish', finishReason, inputTokens: model.countTokens(prompt), outputTokens: count };
    },
  };
}

function generationOptions(options: Parameters<ChatBackend['generate']>[2]) {
  return {
    maxTokens: options.maxTokens ?? 256,
    temperature: options.temperature ?? 1,
    topP: options.topP ?? 1,
    topK: options.topK ?? 0,
    stop: options.stop ?? [],
    seed: options.seed,
  };
}
