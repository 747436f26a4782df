/**
 * `@tunekit/registry`: The model registry plugin: versions with lineage, stages and transitions, model
 * cards, search, and `recommend` over an hnswlib index with pluggable embedders.
 *
 * Guides: [registry](../../../docs/registry.md).
 *
 * @module @tunekit/registry
 */
export { buildModelCard } from './cards/build-model-card.js';
export { modelCardFrontMatter, renderModelCard } from './cards/render-model-card.js';
export {
  createModelRegistry,
  MODEL_CARDS_COLLECTION,
  MODEL_TRANSITIONS_COLLECTION,
  MODEL_VERSIONS_COLLECTION,
  type ModelRegistryOptions,
  REGISTERED_MODELS_COLLECTION,
  RESERVED_ALIASES,
} from './create-model-registry.js';
export type { Embedder } from './embedders/embedder.js';
export { hashingEmbedderPlugin, transformersEmbedderPlugin } from './embedders/embedder-plugins.js';
export {
  createHashingEmbedder,
  type HashingEmbedderOptions,
  tokenizeWords,
} from './embedders/hashing-embedder.js';
export {
  createTransformersEmbedder,
  type TransformersEmbedderOptions,
} from './embedders/transformers-embedder.js';
export {
  embeddingText,
  type ModelFilters,
  ModelFiltersSchema,
  modelFilterPredicate,
  textQueryPredicate,
} from './model-filters.js';
export {
  type ModelLineage,
  type ModelRegistry,
  type ModelSearchPage,
  type Recommendation,
  type RecommendQuery,
  RecommendQuerySchema,
  type RegisterModelInput,
  RegisterModelInputSchema,
  type SearchModelsQuery,
  SearchModelsQuerySchema,
  type TransitionOptions,
  type UpdateModelInput,
  UpdateModelInputSchema,
} from './model-registry.js';
export { type AttributeIndex, createAttributeIndex } from './recommend/attribute-index.js';
export type { HnswParameters } from './recommend/hnsw-parameters.js';
export { createHnswVectorIndex } from './recommend/hnsw-vector-index.js';
export { decodeLabelTable, encodeLabelTable, type LabelTable } from './recommend/label-table.js';
export {
  createRecommendationIndex,
  type IndexLoadOutcome,
  type RecommendationIndex,
  type RecommendationIndexMetadata,
  RecommendationIndexMetadataSchema,
  type RecommendationIndexOptions,
} from './recommend/recommendation-index.js';
export { createSparsePostingLists, type SparsePostingLists } from './recommend/sparse-posting-lists.js';
export type {
  SerializedVectorIndex,
  VectorIndex,
  VectorSearchCounts,
  VectorSearchHit,
} from './recommend/vector-index.js';
export {
  registerFromTrainingJob,
  registrationFromTrainingJob,
  type TrainingJobLike,
} from './register-from-training-job.js';
export type { RegistryEventMap } from './registry-events.js';
export { RegistryKey, type RegistryPluginOptions, registryPlugin } from './registry-plugin.js';
export {
  ALLOWED_TRANSITIONS,
  assertTransition,
  canTransition,
  invalidTransition,
} from './stage-transitions.js';
