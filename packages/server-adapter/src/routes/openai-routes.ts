import { randomUUID } from 'node:crypto';
import type { Tunekit } from '@tunekit/core';
import type { ModelRegistry } from '@tunekit/registry';
import { z } from 'zod';
import { assertModelAccess } from '../inference/assert-model-access.js';
import type { LoadedModel } from '../inference/model-cache.js';
import type { ServerContext } from '../server/server-context.js';
import { REGISTRY_SERVICE_ID } from './model-routes.js';
import { defineRoute, eventStreamReply, type ServerSentEvent } from './route-definition.js';
import { withGenerationSlot } from './with-generation-slot.js';

/**
 * OpenAI-compatible routes (`/v1/chat/completions`, `/v1/completions`, `/v1/models`), so that the
 * official `openai` client, LangChain or curl scripts written for OpenAI talk to Tunekit models. The
 * `model` field is any served id: a configured model, a registry reference (`notes-lora@production`,
 * `notes-lora@3`, or a bare name for its production version) or `job:<id>`. They are ordinary
 * routes of the table, so auth (the API key or token goes in `Authorization: Bearer`), body limits
 * and the audit apply as everywhere else.
 */

const StopSchema = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]);

/** Sampling fields common to both completion routes (OpenAI's names and ranges). */
const SamplingShape = {
  model: z.string().min(1).max(200),
  max_tokens: z.number().int().min(1).max(4096).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: StopSchema.nullable().optional(),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
  /** Only one choice per request. */
  n: z.literal(1).optional(),
  /** Accepted for compatibility; not applied (Tunekit's sampler has no penalties). */
  presence_penalty: z.literal(0).optional(),
  /** Accepted for compatibility; not applied. */
  frequency_penalty: z.literal(0).optional(),
  /** End-user id (recorded nowhere; accepted for compatibility). */
  user: z.string().max(256).optional(),
};

/** One chat message: text content, or OpenAI's content parts with text only. */
const ChatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([
      z.string(),
      z.array(z.object({ type: z.literal('text'), text: z.string() }).strict()).min(1),
    ]),
    name: z.string().max(64).optional(),
  })
  .strict();

/** `POST /v1/chat/completions` body (OpenAI's Chat Completions request, the fields Tunekit applies). */
export const ChatCompletionRequestSchema = z
  .object({
    ...SamplingShape,
    messages: z.array(ChatMessageSchema).min(1).max(1000),
    /** OpenAI's newer name of `max_tokens`. */
    max_completion_tokens: z.number().int().min(1).max(4096).optional(),
  })
  .strict();

/** `POST /v1/completions` body (OpenAI's legacy Completions request). */
export const CompletionRequestSchema = z
  .object({
    ...SamplingShape,
    prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  })
  .strict();

const UsageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

const FinishReasonSchema = z.enum(['stop', 'length']);

/** `POST /v1/chat/completions` response (`stream: true` answers `chat.completion.chunk` events instead). */
export const ChatCompletionSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string().nullable(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
      finish_reason: FinishReasonSchema,
      logprobs: z.null(),
    }),
  ),
  usage: UsageSchema,
});

/** `POST /v1/completions` response (`stream: true` answers `text_completion` chunks instead). */
export const CompletionSchema = z.object({
  id: z.string(),
  object: z.literal('text_completion'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string().nullable(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      text: z.string(),
      finish_reason: FinishReasonSchema,
      logprobs: z.null(),
    }),
  ),
  usage: UsageSchema,
});

/** `GET /v1/models` response. */
export const ModelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() }),
  ),
});

type Sampling = {
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string | string[] | null;
};

function generationOptions(body: Sampling, maxTokens?: number) {
  return {
    maxTokens: maxTokens ?? body.max_tokens ?? 256,
    // OpenAI's defaults: temperature 1, top_p 1.
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    stop: body.stop == null ? [] : Array.isArray(body.stop) ? body.stop : [body.stop],
    seed: body.seed,
  };
}

async function loadModel(
  context: {
    kit: ServerContext['kit'];
    server: ServerContext;
    principal: Parameters<typeof assertModelAccess>[1];
  },
  id: string,
): Promise<LoadedModel> {
  await assertModelAccess(context.kit, context.principal, id);
  return context.server.models.load(id);
}

function usageOf(model: LoadedModel, prompt: string, completionTokens: number) {
  const promptTokens = model.countTokens(prompt);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/**
 * Streams a generation as OpenAI chunks: `chunk(delta text, finish reason)` builds each payload; the
 * stream ends with a usage chunk when asked (`stream_options.include_usage`) and `data: [DONE]`.
 */
async function* completionChunks(
  model: LoadedModel,
  prompt: string,
  options: ReturnType<typeof generationOptions>,
  chunk: (text: string | undefined, finishReason: 'stop' | 'length' | null) => Record<string, unknown>,
  includeUsage: boolean,
  signal: AbortSignal,
): AsyncGenerator<ServerSentEvent> {
  let count = 0;
  let finishReason: 'stop' | 'length' = 'length';
  yield { data: chunk('', null) };
  for await (const piece of model.stream(prompt, options)) {
    if (signal.aborted) return;
    count += 1;
    if (piece.finishReason) finishReason = piece.finishReason;
    if (piece.text) yield { data: chunk(piece.text, null) };
  }
  yield { data: chunk(undefined, finishReason) };
  if (includeUsage)
    yield { data: { ...chunk(undefined, null), choices: [], usage: usageOf(model, prompt, count) } };
  yield { data: null, rawData: '[DONE]' };
}

const now = () => Math.floor(Date.now() / 1000);

/** What one OpenAI route puts in its answers; everything else of a completion is shared. */
interface CompletionShape<Kind extends string, Choice> {
  /** `chatcmpl` or `cmpl`: the id prefix. */
  idPrefix: string;
  /** `object` of the whole answer (`chat.completion`, `text_completion`). */
  object: Kind;
  /** `object` of a streamed chunk (`chat.completion.chunk`, `text_completion`). */
  chunkObject: string;
  /** The choice of a streamed chunk: delta text (`''` first, `undefined` at the end) and finish reason. */
  chunkChoice(text: string | undefined, finishReason: 'stop' | 'length' | null): Record<string, unknown>;
  /** The choice of a whole answer. */
  choice(result: { text: string; finishReason: 'stop' | 'length' }): Choice;
}

/**
 * Answers an OpenAI completion request: SSE chunks (`stream: true`, with the usage chunk when
 * `stream_options.include_usage`) or one JSON answer with usage. Both routes answer through it;
 * they differ only by their {@link CompletionShape}.
 */
async function answerCompletion<Kind extends string, Choice>(
  request: {
    model: LoadedModel;
    prompt: string;
    options: ReturnType<typeof generationOptions>;
    body: { model: string; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null };
    signal: AbortSignal;
  },
  shape: CompletionShape<Kind, Choice>,
) {
  const { model, prompt, options, body, signal } = request;
  const head = {
    id: `${shape.idPrefix}-${randomUUID()}`,
    created: now(),
    model: body.model,
    system_fingerprint: null,
  };
  if (body.stream) {
    const chunk = (text: string | undefined, finishReason: 'stop' | 'length' | null) => ({
      ...head,
      object: shape.chunkObject,
      choices: [shape.chunkChoice(text, finishReason)],
    });
    return eventStreamReply(
      completionChunks(model, prompt, options, chunk, body.stream_options?.include_usage === true, signal),
    );
  }
  const result = await model.generate(prompt, options);
  return {
    ...head,
    object: shape.object,
    choices: [shape.choice(result)],
    usage: usageOf(model, prompt, result.tokensGenerated),
  };
}

/** The text of a chat message's content. */
function textOf(content: string | { text: string }[]): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/** `POST /v1/chat/completions`: OpenAI's Chat Completions over a served model (JSON, or SSE chunks with `stream`). */
export const chatCompletionsRoute = defineRoute({
  method: 'POST',
  path: '/v1/chat/completions',
  operationId: 'openaiChatCompletions',
  summary: "OpenAI-compatible chat completion (the model's chat template; SSE chunks with stream: true)",
  tag: 'openai',
  access: 'models:read',
  mutating: false,
  body: ChatCompletionRequestSchema,
  response: ChatCompletionSchema,
  // Each completion holds a slot of limits.generations, like POST /generate.
  handler: async ({ kit, server, principal, body, signal }) =>
    withGenerationSlot(server, principal, async () => {
      const model = await loadModel({ kit, server, principal }, body.model);
      const prompt = model.chatPrompt(
        body.messages.map((message) => ({
          // A developer message is OpenAI's newer name of a system message.
          role: message.role === 'developer' ? 'system' : message.role,
          content: textOf(message.content),
        })),
      );
      return answerCompletion(
        { model, prompt, options: generationOptions(body, body.max_completion_tokens), body, signal },
        {
          idPrefix: 'chatcmpl',
          object: 'chat.completion' as const,
          chunkObject: 'chat.completion.chunk',
          chunkChoice: (text, finishReason) => ({
            index: 0,
            delta:
              text === undefined ? {} : text === '' ? { role: 'assistant', content: '' } : { content: text },
            finish_reason: finishReason,
            logprobs: null,
          }),
          choice: (result) => ({
            index: 0,
            message: { role: 'assistant' as const, content: result.text, refusal: null },
            finish_reason: result.finishReason,
            logprobs: null,
          }),
        },
      );
    }),
});

/** `POST /v1/completions`: OpenAI's legacy text completion over a served model. */
export const completionsRoute = defineRoute({
  method: 'POST',
  path: '/v1/completions',
  operationId: 'openaiCompletions',
  summary: 'OpenAI-compatible text completion (SSE chunks with stream: true)',
  tag: 'openai',
  access: 'models:read',
  mutating: false,
  body: CompletionRequestSchema,
  response: CompletionSchema,
  // Each completion holds a slot of limits.generations, like POST /generate.
  handler: async ({ kit, server, principal, body, signal }) =>
    withGenerationSlot(server, principal, async () => {
      const model = await loadModel({ kit, server, principal }, body.model);
      const prompt = Array.isArray(body.prompt) ? (body.prompt[0] as string) : body.prompt;
      return answerCompletion(
        // The legacy endpoint's default max_tokens is 16.
        { model, prompt, options: generationOptions(body, body.max_tokens ?? 16), body, signal },
        {
          idPrefix: 'cmpl',
          object: 'text_completion' as const,
          chunkObject: 'text_completion',
          chunkChoice: (text, finishReason) => ({
            index: 0,
            text: text ?? '',
            finish_reason: finishReason,
            logprobs: null,
          }),
          choice: (result) => ({
            index: 0,
            text: result.text,
            finish_reason: result.finishReason,
            logprobs: null,
          }),
        },
      );
    }),
});

/** The registry's production versions, as `{ name, created }` (empty without the registry plugin). */
async function productionModels(server: ServerContext): Promise<{ name: string; created: number }[]> {
  const kit = server.kit as Tunekit & { registry?: ModelRegistry };
  const id = server.options.registryService ?? REGISTRY_SERVICE_ID;
  const registry = kit.has({ id }) ? kit.get<ModelRegistry>({ id }) : undefined;
  if (!registry) return [];
  const found: { name: string; created: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await registry.search({ stage: 'production', limit: 1000, cursor });
    for (const version of page.items) {
      found.push({ name: version.name, created: Math.floor(Date.parse(version.createdAt) / 1000) });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return found;
}

/**
 * `GET /v1/models`: the configured models, and each registry model that has a production version
 * under its bare name (which serves that version). Any registry reference or `job:<id>` can be
 * named in `model` besides these.
 */
export const listOpenAIModelsRoute = defineRoute({
  method: 'GET',
  path: '/v1/models',
  operationId: 'openaiListModels',
  summary: 'OpenAI-compatible model list: configured models and registry production versions',
  tag: 'openai',
  access: 'models:read',
  response: ModelListSchema,
  handler: async ({ server }) => {
    const started = Math.floor(server.startedAt / 1000);
    const configured = server.models.configured().map((id) => ({
      id,
      object: 'model' as const,
      created: started,
      owned_by: 'tunekit',
    }));
    const seen = new Set(configured.map((model) => model.id));
    const registered = (await productionModels(server))
      .filter((model) => !seen.has(model.name))
      .map((model) => ({
        id: model.name,
        object: 'model' as const,
        created: model.created,
        owned_by: 'tunekit',
      }));
    return { object: 'list' as const, data: [...configured, ...registered] };
  },
});

/** The OpenAI-compatible routes. */
export const openaiRoutes = [chatCompletionsRoute, completionsRoute, listOpenAIModelsRoute];
