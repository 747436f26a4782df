import { tunekitError } from '@tunekit/core';
import { renderModelCard } from '@tunekit/registry';
import { z } from 'zod';
import { registryOf } from './model-routes.js';
import { defineRoute } from './route-definition.js';

/** `GET /models/{id}/readme` response: the model card rendered as the Hub's README.md. */
export const ModelReadmeSchema = z.object({
  id: z.string(),
  /** YAML front matter (Hub metadata) and the card's markdown sections, as `README.md` holds them. */
  markdown: z.string(),
});

/**
 * `GET /models/{id}/readme`: a version's model card as markdown (the `README.md` the registry
 * writes next to the artifacts). The text includes what users registered (description, intended
 * use, limitations) verbatim: clients render it as untrusted markdown (the dashboard escapes raw
 * HTML and refuses `javascript:` links).
 */
export const modelReadmeRoute = defineRoute({
  method: 'GET',
  path: '/models/{id}/readme',
  operationId: 'getModelReadme',
  summary: 'Model card of a version rendered as README.md (markdown)',
  tag: 'models',
  access: 'models:read',
  params: z.object({ id: z.string().min(1).max(190) }),
  response: ModelReadmeSchema,
  handler: async ({ server, params }) => {
    const registry = registryOf(server);
    const version = await registry.get(params.id);
    if (!version) {
      throw tunekitError('NOT_FOUND', `No model version "${params.id}"`);
    }
    return { id: version.id, markdown: renderModelCard(await registry.card(version.id)) };
  },
});
