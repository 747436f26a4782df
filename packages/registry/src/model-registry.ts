import {
  BaseModelRelationSchema,
  type Job,
  type ModelCard,
  ModelNameSchema,
  type ModelStage,
  ModelTagSchema,
  type ModelTransition,
  type ModelVersion,
  type OperationContext,
  type RegisteredModel,
} from '@tunekit/core';
import { z } from 'zod';
import { ModelFiltersSchema } from './model-filters.js';

/** Input of `registry.register`, validated at the boundary (`VALIDATION_FAILED` names each bad field). */
export const RegisterModelInputSchema = z
  .object({
    name: ModelNameSchema,
    artifactUri: z.string().min(1),
    baseModel: z.string().min(1).optional(),
    baseModelRelation: BaseModelRelationSchema.optional(),
    task: z.string().min(1).optional(),
    /** One language code or several. */
    language: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    license: z.string().min(1).optional(),
    libraryName: z.string().min(1).optional(),
    metrics: z.record(z.string(), z.number().finite()).optional(),
    tags: z.array(ModelTagSchema).optional(),
    description: z.string().max(10_000).optional(),
    datasets: z.array(z.string().min(1)).optional(),
    intendedUse: z.string().max(10_000).optional(),
    limitations: z.string().max(10_000).optional(),
    trainingParameters: z.record(z.string(), z.unknown()).optional(),
    trainingJobId: z.string().min(1).optional(),
    datasetVersionId: z.string().min(1).optional(),
    /** An existing version (`<name>@<n>`) this one derives from. */
    parentVersionId: z.string().min(1).optional(),
  })
  .strict();

/** Input of `registry.register`. */
export type RegisterModelInput = z.input<typeof RegisterModelInputSchema>;

/** What users may edit on a version (its card is regenerated). */
export const UpdateModelInputSchema = z
  .object({
    description: z.string().max(10_000).optional(),
    tags: z.array(ModelTagSchema).optional(),
    intendedUse: z.string().max(10_000).optional(),
    limitations: z.string().max(10_000).optional(),
    metrics: z.record(z.string(), z.number().finite()).optional(),
  })
  .strict();

/** Input of `registry.update`. */
export type UpdateModelInput = z.input<typeof UpdateModelInputSchema>;

/** Query of `registry.search`. */
export const SearchModelsQuerySchema = ModelFiltersSchema.extend({
  /** Words that must all occur in the name, description or tags (case-insensitive). */
  text: z.string().max(1000).optional(),
  /** Page size (default 20, at most 1000). */
  limit: z.number().int().min(1).max(1000).default(20),
  /** `nextCursor` of the previous page. */
  cursor: z.string().min(1).optional(),
}).strict();

/** Query of `registry.search`. */
export type SearchModelsQuery = z.input<typeof SearchModelsQuerySchema>;

/** Query of `registry.recommend`: exactly one of `text`, `embedding` or `modelId`. */
export const RecommendQuerySchema = z
  .object({
    text: z.string().min(1).max(10_000).optional(),
    embedding: z.array(z.number().finite()).min(1).optional(),
    /** A version id (or `<name>@<alias>`): models similar to it, itself excluded. */
    modelId: z.string().min(1).optional(),
    filters: ModelFiltersSchema.optional(),
    /** Number of results (default 10, at most 1000). */
    k: z.number().int().min(1).max(1000).default(10),
  })
  .strict()
  .refine(
    (query) =>
      [query.text, query.embedding, query.modelId].filter((value) => value !== undefined).length === 1,
    { message: 'give exactly one of text, embedding or modelId' },
  );

/** Query of `registry.recommend`. */
export type RecommendQuery = z.input<typeof RecommendQuerySchema>;

/** One recommendation: a version and its cosine similarity to the query (1 is identical). */
export interface Recommendation {
  model: ModelVersion;
  score: number;
}

/** One page of search results, newest first. */
export interface ModelSearchPage {
  items: ModelVersion[];
  nextCursor?: string;
}

/** Options of a stage change. */
export interface TransitionOptions {
  /** Why (kept in the history and the audit log). */
  reason?: string;
}

/** A version's lineage: where it came from and what derives from it. */
export interface ModelLineage {
  version: ModelVersion;
  baseModel?: string;
  /** The training job record, when the kit's job queue still has it. */
  trainingJob?: Job;
  trainingJobId?: string;
  datasetVersionId?: string;
  /** The dataset version record, when the kit's dataset service has it. */
  datasetVersion?: unknown;
  parent?: ModelVersion;
  /** Versions whose `parentVersionId` is this one. */
  children: ModelVersion[];
}

/**
 * The model registry (`kit.registry`, or `kit.get(RegistryKey)`): versions numbered per name, stages
 * with enforced transitions, deploy/rollback with auto-archive, aliases, lineage, model cards
 * (JSON + Hugging Face README), search and semantic recommendation. Every mutating method takes an
 * optional {@link OperationContext} last, emits `model:*` events and writes an audit entry.
 */
export interface ModelRegistry {
  /** Registers the next version of `input.name` (1, 2, 3 …) in stage `draft` and writes its card. */
  register(input: RegisterModelInput, context?: OperationContext): Promise<ModelVersion>;
  /**
   * A version by id (`tone@3`), alias (`tone@champion`), stage (`tone@production`, the current
   * production version) or `tone@latest`; undefined when none.
   */
  get(reference: string): Promise<ModelVersion | undefined>;
  /** Like `get`, but throws `NOT_FOUND`. */
  require(reference: string): Promise<ModelVersion>;
  /** The per-name record (version counter, production pointer, aliases). */
  getModel(name: string): Promise<RegisteredModel | undefined>;
  /** Every version of a name, oldest first. */
  versions(name: string): Promise<ModelVersion[]>;
  /**
   * Moves a version to another stage (see `ALLOWED_TRANSITIONS`; `INVALID_TRANSITION` otherwise).
   * Moving to production archives the previous production version of the name in the same call.
   */
  transition(
    versionId: string,
    stage: ModelStage,
    options?: TransitionOptions,
    context?: OperationContext,
  ): Promise<ModelVersion>;
  /** Promotes a staging version to production (archiving the previous one); records `deployedAt`. */
  deploy(versionId: string, options?: TransitionOptions, context?: OperationContext): Promise<ModelVersion>;
  /**
   * Returns production to the previous production version of `name` (archived now; it becomes
   * production again) and archives the current one. `ROLLBACK_UNAVAILABLE` when there is none.
   */
  rollback(name: string, options?: TransitionOptions, context?: OperationContext): Promise<ModelVersion>;
  /** Points `alias` (e.g. `champion`) of the version's name at the version. */
  setAlias(versionId: string, alias: string, context?: OperationContext): Promise<RegisteredModel>;
  /** Removes an alias; false when it did not exist. */
  removeAlias(name: string, alias: string, context?: OperationContext): Promise<boolean>;
  /** Edits description, tags, intended use, limitations or metrics; regenerates the card and re-embeds. */
  update(versionId: string, input: UpdateModelInput, context?: OperationContext): Promise<ModelVersion>;
  /** Deletes a version that is not in production (`MODEL_IN_PRODUCTION` otherwise), its card and index entry. */
  delete(versionId: string, context?: OperationContext): Promise<boolean>;
  /** The transitions of a name (registrations included), oldest first. */
  history(name: string): Promise<ModelTransition[]>;
  /** Training job, dataset version, base model, parent and children of a version. */
  lineage(versionId: string): Promise<ModelLineage>;
  /** The stored card of a version. */
  card(versionId: string): Promise<ModelCard>;
  /** The rendered README.md of a version. */
  readme(versionId: string): Promise<string>;
  /** Exact filters plus a text query over name, description and tags; newest first, paginated. */
  search(query?: SearchModelsQuery): Promise<ModelSearchPage>;
  /** Nearest versions by embedding similarity (cosine), filters applied with the index. */
  recommend(query: RecommendQuery): Promise<Recommendation[]>;
  /** Rebuilds the recommendation index from storage. */
  rebuildIndex(): Promise<void>;
  /** Embedder, dimensions and size of the recommendation index. */
  indexStats(): Promise<{ embedder: string; dimensions: number; items: number; capacity: number }>;
  /** Waits until pending index writes are in the artifact store. */
  flush(): Promise<void>;
}
