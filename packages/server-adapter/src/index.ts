/**
 * `@tunekit/server-adapter`: One route table served by a Fastify plugin and an Express router, with
 * auth, audit, SSE, the OpenAPI document and `createServer`.
 *
 * Guides: [server](../../../docs/server.md), [security](../../../docs/security.md), [deploy](../../../docs/deploy.md), [dashboard](../../../docs/dashboard.md).
 *
 * @module @tunekit/server-adapter
 */
export {
  type ApiKey,
  ApiKeySchema,
  type Authenticator,
  type AuthOptions,
  AuthOptionsSchema,
  CREDENTIAL_CLAIM,
  createAuthenticator,
  type UserLookup,
} from './auth/authenticator.js';
export {
  createLoginRateLimiter,
  type LoginRateLimiter,
  type LoginRateLimitOptions,
} from './auth/login-rate-limiter.js';
export { hashPassword, SCRYPT_PARAMETERS, verifyPassword } from './auth/password-hash.js';
export {
  assertStrongPassword,
  MINIMUM_DISTINCT_CHARACTERS,
  MINIMUM_PASSWORD_LENGTH,
  PasswordSchema,
  passwordIssues,
} from './auth/password-policy.js';
export { type PublicUser, PublicUserSchema, toPublicUser } from './auth/public-user.js';
export {
  type CreateUserInput,
  CreateUserInputSchema,
  createUserStore,
  type UpdateUserInput,
  UpdateUserInputSchema,
  USERS_COLLECTION,
  type UserPage,
  type UserStore,
} from './auth/user-store.js';
export {
  fromBodyParserError,
  type TunekitExpressOptions,
  type TunekitRouter,
  tunekitExpress,
} from './express/tunekit-express.js';
export { fromFastifyError, type TunekitFastifyOptions, tunekitFastify } from './fastify/tunekit-fastify.js';
export {
  createModelCache,
  JOB_MODEL_PREFIX,
  type LoadedClassifier,
  type LoadedModel,
  type ModelCache,
  type ServedModel,
  type ServedModelInput,
  ServedModelSchema,
} from './inference/model-cache.js';
export {
  type OpenApiDocument,
  type OpenApiDocumentOptions,
  openApiDocument,
} from './openapi/openapi-document.js';
export { modelRoutes, REGISTRY_SERVICE_ID, registryOf } from './routes/model-routes.js';
export {
  type AnyRouteDefinition,
  defineRoute,
  eventStreamReply,
  isRouteReply,
  jsonReply,
  type RouteAccess,
  type RouteContext,
  type RouteDefinition,
  type RouteMethod,
  type RouteReply,
  type ServerSentEvent,
  type ServiceAuditOptions,
  textReply,
} from './routes/route-definition.js';
export { routesOf, routeTable } from './routes/route-table.js';
export {
  ChangePasswordBodySchema,
  ChangePasswordResponseSchema,
  CreateUserBodySchema,
  UsernameParamsSchema,
  userRoutes,
} from './routes/user-routes.js';
export {
  type AnonymousAuditDecision,
  type AnonymousAuditLimiter,
  createAnonymousAuditLimiter,
} from './server/anonymous-audit-limiter.js';
export { applyConnectionLimits, createLimitedHttpServer } from './server/apply-connection-limits.js';
export {
  type ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  createConcurrencyLimiter,
  releasingWhenDone,
} from './server/concurrency-limiter.js';
export { type CreateServerOptions, createServer, type TunekitServer } from './server/create-server.js';
export {
  type AdapterRequest,
  type AdapterResponse,
  authenticateBeforeBody,
  formatServerSentEvent,
  handleRoute,
  hasRequestBody,
  isMutating,
  jsonDepth,
  problemResponse,
  recordRequestAudit,
  rejectRequest,
} from './server/handle-route.js';
export {
  PROBLEM_CONTENT_TYPE,
  type ProblemDetails,
  ProblemDetailsSchema,
  toProblem,
  toTunekitError,
} from './server/problem-details.js';
export { removeStaleTempFolders, TEMP_FOLDER_PATTERN } from './server/remove-stale-temp-folders.js';
export { requestIdOf } from './server/request-id.js';
export { createServerContext, type ServerContext } from './server/server-context.js';
export { type ServerLimits, type ServerLimitsInput, ServerLimitsSchema } from './server/server-limits.js';
export {
  DEFAULT_BODY_LIMIT,
  DEFAULT_UPLOAD_LIMIT,
  type TunekitServerOptions,
} from './server/server-options.js';
export { limitBytes, type UploadedFile, uploadedFile } from './server/upload-stream.js';
export {
  WEB_UI_CONTENT_SECURITY_POLICY,
  type WebUiResponse,
  webUiFileNames,
  webUiResponse,
} from './ui/web-ui-response.js';
