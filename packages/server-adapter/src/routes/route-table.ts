import { abTestRoutes } from './ab-test-routes.js';
import { auditRoutes } from './audit-routes.js';
import { authRoutes } from './auth-routes.js';
import { datasetRoutes } from './dataset-routes.js';
import { evaluationRoutes } from './evaluation-routes.js';
import { feedbackRoutes } from './feedback-routes.js';
import { healthRoutes } from './health-routes.js';
import { inferenceRoutes } from './inference-routes.js';
import { modelRoutes } from './model-routes.js';
import type { AnyRouteDefinition } from './route-definition.js';
import { trainingRoutes } from './training-routes.js';

/** Every route of the Tunekit HTTP API, each once: the single source of both adapters, OpenAPI and the client. */
export const routeTable: readonly AnyRouteDefinition[] = [
  ...healthRoutes,
  ...authRoutes,
  ...datasetRoutes,
  ...trainingRoutes,
  ...modelRoutes,
  ...inferenceRoutes,
  ...evaluationRoutes,
  ...abTestRoutes,
  ...feedbackRoutes,
  ...auditRoutes,
] as AnyRouteDefinition[];
