import { tunekitError } from '@tunekit/core';
import { z } from 'zod';
import { assertModelAccess } from '../inference/assert-model-access.js';
import { modelNotServed } from '../inference/model-cache.js';
import { releasingWhenDone } from '../server/concurrency-limiter.js';
import type { ServerContext } from '../server/server-context.js';
import { defineRoute, eventStreamReply, type ServerSentEvent } from './route-definition.js';

/** `POST /generate` body: a prompt and generation parameters, plus `stream` and `model`. */
export const GenerateRequestSchema = z
  .object({
    prompt: z.string().max(100_000),
    max_tokens: z.number().int().min(1).max(4096).default(64),
    temperature: z.number().min(0).max(10).default(1),
    top_p: z.number().gt(0).max(1).default(1),
    top_k: z.number().int().min(0).default(0),
    stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).optional(),
    seed: z.number().int().optional(),
    /** Stream tokens as Server-Sent Events (`token` events, then `done`). */
    stream: z.boolean().default(false),
    /** Served model id (`job:<id>` for a finished training job's output); default: the server's default model. */
    model: z.string().min(1).max(200).optional(),
  })
  .strict();

/** `POST /generate` response. */
export const GenerateResponseSchema = z.object({
  text: z.string(),
  tokens_generated: z.number().int(),
  finish_reason: z.enum(['stop', 'length']),
  model: z.string(),
  latency_ms: z.number(),
});

function modelId(server: ServerContext, requested: string | undefined): string {
  const id = requested ?? server.options.defaultModel;
  if (!id) {
    throw tunekitError('VALIDATION_FAILED', 'No model given and the server has no default model', {
      issues: [{ path: 'model', message: 'required' }],
    });
  }
  return id;
}

/** `POST /generate`: text generation, as JSON or streamed as SSE. */
export const generateRoute = defineRoute({
  method: 'POST',
  path: '/generate',
  operationId: 'generate',
  summary: 'Generate text (JSON, or Server-Sent Events with stream: true)',
  tag: 'inference',
  access: 'models:read',
  mutating: false,
  body: GenerateRequestSchema,
  response: GenerateResponseSchema,
  handler: async ({ kit, server, principal, body, signal }) => {
    const id = modelId(server, body.model);
    await assertModelAccess(kit, principal, id);
    // Each generation holds a slot of limits.generations until it ends (429 past the limit); a
    // streamed one gives it back when its event stream ends.
    const release = server.generationLimiter.acquire(principal?.id ?? 'anonymous');
    let streamed = false;
    try {
      const model = await server.models.load(id);
      const options = {
        maxTokens: body.max_tokens,
        temperature: body.temperature,
        topP: body.top_p,
        topK: body.top_k,
        stop: body.stop === undefined ? [] : Array.isArray(body.stop) ? body.stop : [body.stop],
        seed: body.seed,
      };
      const started = performance.now();
      if (!body.stream) {
        const result = await model.generate(body.prompt, options);
        return {
          text: result.text,
          tokens_generated: result.tokensGenerated,
          finish_reason: result.finishReason,
          model: id,
          latency_ms: Math.round((performance.now() - started) * 100) / 100,
        };
      }
      async function* tokens(): AsyncGenerator<ServerSentEvent> {
        let text = '';
        let count = 0;
        let finishReason: 'stop' | 'length' = 'length';
        for await (const chunk of model.stream(body.prompt, options)) {
          if (signal.aborted) return;
          count += 1;
          text += chunk.text;
          if (chunk.finishReason) finishReason = chunk.finishReason;
          if (chunk.text) yield { event: 'token', data: { text: chunk.text, token_id: chunk.tokenId } };
        }
        yield {
          event: 'done',
          data: {
            text,
            tokens_generated: count,
            finish_reason: finishReason,
            model: id,
            latency_ms: Math.round((performance.now() - started) * 100) / 100,
          },
        };
      }
      streamed = true;
      return eventStreamReply(releasingWhenDone(tokens(), release));
    } finally {
      if (!streamed) release();
    }
  },
});

/** `POST /predict` body. */
export const PredictRequestSchema = z
  .object({
    text: z.string().min(1).max(100_000),
    /**
     * A configured predictor's id, or a served BERT-family classifier (configured model id, `job:<id>`,
     * registry reference such as `name@production`). Default: the first predictor, else the default model.
     */
    model: z.string().min(1).max(200).optional(),
    /** Also return the `top_k` most probable labels (when > 1). */
    top_k: z.number().int().min(1).max(100).optional(),
  })
  .strict();

/** One scored label of a `POST /predict` answer. */
export const ScoredLabelSchema = z.object({
  label: z.union([z.string(), z.number()]),
  label_id: z.number().int().optional(),
  probability: z.number(),
});

/** `POST /predict` response: `{ label, probability, latency_ms }` plus the model id, label id and top-k scores. */
export const PredictResponseSchema = z.object({
  label: z.union([z.string(), z.number()]),
  label_id: z.number().int().optional(),
  probability: z.number(),
  latency_ms: z.number(),
  base_model: z.string().optional(),
  language: z.string().optional(),
  model: z.string(),
  top_k: z.array(ScoredLabelSchema).optional(),
});

const round = (milliseconds: number) => Math.round(milliseconds * 100) / 100;

/**
 * `POST /predict`: classification with a configured predictor, or with a BERT-family sequence classifier
 * loaded lazily through the trainer's `openModel` and cached.
 * A generative model answers `MODEL_TASK_MISMATCH` (400).
 */
export const predictRoute = defineRoute({
  method: 'POST',
  path: '/predict',
  operationId: 'predict',
  summary: 'Classify a text',
  tag: 'inference',
  access: 'models:read',
  mutating: false,
  body: PredictRequestSchema,
  response: PredictResponseSchema,
  handler: async ({ kit, server, principal, body }) => {
    const id = body.model ?? [...server.predictors.keys()][0] ?? server.options.defaultModel;
    if (id === undefined) {
      throw tunekitError('VALIDATION_FAILED', 'No model given and the server has no classifier', {
        issues: [{ path: 'model', message: 'required' }],
      });
    }
    const topK = body.top_k ?? 1;
    const predictor = server.predictors.get(id);
    if (!predictor) {
      await assertModelAccess(kit, principal, id);
      const classifier = await server.models.loadClassifier(id);
      const started = performance.now();
      const prediction = await classifier.predict(body.text, { topK });
      return {
        label: prediction.label,
        label_id: prediction.label_id,
        probability: prediction.probability,
        latency_ms: round(performance.now() - started),
        base_model: prediction.base_model,
        language: prediction.language,
        model: id,
        ...(prediction.top_k ? { top_k: prediction.top_k } : {}),
      };
    }
    const started = performance.now();
    const prediction = await predictor.predict({ input: body.text, row: { text: body.text } });
    const probabilities = prediction.probabilities ?? {};
    const ranked = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
    const best = ranked[0];
    const label = prediction.label ?? best?.[0];
    if (label === undefined) {
      throw tunekitError('INTERNAL', `Classifier "${id}" returned no label`);
    }
    const described = predictor as { baseModel?: string; language?: string };
    return {
      label,
      probability: probabilities[String(label)] ?? best?.[1] ?? 1,
      latency_ms: round(performance.now() - started),
      base_model: described.baseModel,
      language: described.language,
      model: id,
      ...(topK > 1 && ranked.length > 0
        ? { top_k: ranked.slice(0, topK).map(([name, probability]) => ({ label: name, probability })) }
        : {}),
    };
  },
});

/** `GET /model/info`: a served model's description and whether it is loaded (it is not loaded by this call). */
export const modelInfoRoute = defineRoute({
  method: 'GET',
  path: '/model/info',
  operationId: 'getModelInfo',
  summary: 'Description of a served model',
  tag: 'inference',
  access: 'models:read',
  query: z.object({ model: z.string().min(1).max(200).optional() }),
  response: z.object({
    id: z.string(),
    base_model: z.string().optional(),
    language: z.string().optional(),
    task: z.string(),
    device: z.string(),
    loaded: z.boolean(),
    adapter: z.boolean(),
    served_models: z.array(z.string()),
  }),
  handler: async ({ kit, server, principal, query }) => {
    const id = modelId(server, query.model);
    await assertModelAccess(kit, principal, id);
    const source = await server.models.describe(id);
    if (!source) throw await modelNotServed(kit, id, server.models.configured());
    return {
      id,
      base_model: source.baseModel,
      language: source.language,
      task: source.task,
      device: source.device,
      loaded: server.models.loaded().includes(id),
      adapter: source.adapter !== undefined,
      served_models: server.models.configured(),
    };
  },
});

/** Inference routes. */
export const inferenceRoutes = [generateRoute, predictRoute, modelInfoRoute];
