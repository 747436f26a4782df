import { type Tunekit, tunekitError } from '@tunekit/core';
import { abTestRoutes } from './ab-test-routes.js';
import { auditRoutes } from './audit-routes.js';
import { authRoutes } from './auth-routes.js';
import { datasetRoutes } from './dataset-routes.js';
import { evaluationRoutes } from './evaluation-routes.js';
import { feedbackRoutes } from './feedback-routes.js';
import { healthRoutes } from './health-routes.js';
import { inferenceRoutes } from './inference-routes.js';
import { modelEvaluationsRoute } from './model-evaluations-route.js';
import { modelReadmeRoute } from './model-readme-route.js';
import { modelRoutes } from './model-routes.js';
import { openaiRoutes } from './openai-routes.js';
import { rlhfRoutes } from './rlhf-routes.js';
import type { AnyRouteDefinition } from './route-definition.js';
import { trainingMetricsRoute } from './training-metrics-route.js';
import { trainingRoutes } from './training-routes.js';
import { userRoutes } from './user-routes.js';

/** Every route of the Tunekit HTTP API, each once: the single source of both adapters, OpenAPI and the client. */
export const routeTable: readonly AnyRouteDefinition[] = [
  ...healthRoutes,
  ...authRoutes,
  ...userRoutes,
  ...datasetRoutes,
  ...trainingRoutes,
  trainingMetricsRoute,
  ...rlhfRoutes,
  ...modelRoutes,
  modelEvaluationsRoute,
  modelReadmeRoute,
  ...inferenceRoutes,
  ...openaiRoutes,
  ...evaluationRoutes,
  ...abTestRoutes,
  ...feedbackRoutes,
  ...auditRoutes,
] as AnyRouteDefinition[];

/** Whether a plugin's `route` extension is a full route definition this adapter can serve. */
function isRouteDefinition(candidate: AnyRouteDefinition): boolean {
  const value = candidate as unknown as Record<string, unknown>;
  return (
    typeof value.operationId === 'string' &&
    typeof value.handler === 'function' &&
    typeof value.access === 'string' &&
    typeof value.summary === 'string' &&
    typeof value.tag === 'string' &&
    typeof (value.response as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}

/**
 * The route table plus routes plugins added on the kit's `route` extension point (objects shaped
 * like {@link RouteDefinition}, e.g. built with `defineRoute`). A plugin route may not replace a
 * built-in one: a clash of method and path or of operation id throws at mount time.
 */
export function routesOf(kit?: Tunekit): AnyRouteDefinition[] {
  const routes = [...routeTable];
  for (const { name, value } of kit?.extensions.list('route') ?? []) {
    if (!isRouteDefinition(value)) {
      throw tunekitError(
        'ROUTE_INVALID',
        `Plugin route "${name}" is not a route definition (method, path, operationId, summary, tag, access, response schema, handler)`,
        { route: name },
      );
    }
    const clash = routes.find(
      (route) =>
        route.operationId === value.operationId ||
        (route.method === value.method && route.path === value.path),
    );
    if (clash) {
      throw tunekitError(
        'ROUTE_INVALID',
        `Plugin route "${name}" clashes with ${clash.method} ${clash.path} (${clash.operationId})`,
        { route: name, clashesWith: clash.operationId },
      );
    }
    routes.push(value);
  }
  return routes;
}
