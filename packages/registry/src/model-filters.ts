import { ModelStageSchema, ModelTagSchema, type ModelVersion } from '@tunekit/core';
import { z } from 'zod';

/** Exact filters shared by `search` and `recommend`; every given filter must match. */
export const ModelFiltersSchema = z
  .object({
    /** Registered-model name. */
    name: z.string().min(1).optional(),
    baseModel: z.string().min(1).optional(),
    /** A language code the version lists. */
    language: z.string().min(1).optional(),
    task: z.string().min(1).optional(),
    /** Every one of these tags (case-insensitive). */
    tags: z.array(ModelTagSchema).optional(),
    /** One stage or any of several. */
    stage: z.union([ModelStageSchema, z.array(ModelStageSchema).min(1)]).optional(),
  })
  .strict();

/** Exact filters over model versions. */
export type ModelFilters = z.infer<typeof ModelFiltersSchema>;

/** A predicate for the filters (an empty filter matches everything). */
export function modelFilterPredicate(filters: ModelFilters = {}): (version: ModelVersion) => boolean {
  const stages = filters.stage === undefined ? undefined : new Set([filters.stage].flat());
  const tags = filters.tags?.map((tag) => tag.toLowerCase());
  const language = filters.language?.toLowerCase();
  return (version) => {
    if (filters.name !== undefined && version.name !== filters.name) return false;
    if (filters.baseModel !== undefined && version.baseModel !== filters.baseModel) return false;
    if (filters.task !== undefined && version.task !== filters.task) return false;
    if (stages !== undefined && !stages.has(version.stage)) return false;
    if (language !== undefined && !version.language.some((code) => code.toLowerCase() === language))
      return false;
    if (tags !== undefined && tags.length > 0) {
      const own = new Set(version.tags.map((tag) => tag.toLowerCase()));
      if (!tags.every((tag) => own.has(tag))) return false;
    }
    return true;
  };
}

/**
 * A predicate for a text query over name, description and tags: every word of the query must occur
 * (case-insensitive, as a substring) in one of them. An empty query matches everything.
 */
export function textQueryPredicate(text: string | undefined): (version: ModelVersion) => boolean {
  const words = (text ?? '')
    .toLowerCase()
    .split(/\s+/u)
    .filter((word) => word.length > 0);
  if (words.length === 0) return () => true;
  return (version) => {
    const haystack = [version.name, version.description, ...version.tags].join('\n').toLowerCase();
    return words.every((word) => haystack.includes(word));
  };
}

/** The text a version is embedded from for recommendation (name, task, base model, languages, tags, description). */
export function embeddingText(version: ModelVersion): string {
  return [
    version.name.replace(/[-_.]+/g, ' '),
    version.task ?? '',
    version.baseModel ?? '',
    version.language.join(' '),
    version.tags.join(' '),
    version.description,
  ]
    .filter((part) => part.length > 0)
    .join('\n');
}
