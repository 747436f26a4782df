import type { ModelVersion } from '@tunekit/core';
import type { ModelFilters } from '../model-filters.js';

/**
 * Version ids by attribute value (name, base model, task, stage, language, tag), kept beside the
 * vector index so that a structured filter ({@link ModelFilters}) names its matches exactly without
 * testing every version: the sets of the filter's values are intersected, smallest first. The
 * matches are exactly what `modelFilterPredicate(filters)` accepts (languages and tags compared
 * case-insensitively, a stage list as a union).
 *
 * @example
 * ```ts
 * const attributes = createAttributeIndex();
 * attributes.add(version);
 * attributes.matching({ task: 'translation', tags: ['tone'] }); // Set of version ids
 * ```
 */
export interface AttributeIndex {
  /** Indexes a version (replacing what was indexed under its id). */
  add(version: ModelVersion): void;
  /** Forgets a version id. */
  remove(versionId: string): void;
  /** Ids of the versions matching every given filter; undefined when no filter is given (all match). */
  matching(filters: ModelFilters): ReadonlySet<string> | undefined;
  /** Versions indexed. */
  readonly size: number;
}

type Field = 'name' | 'baseModel' | 'task' | 'stage' | 'language' | 'tag';

/** The (field, value) keys a version is listed under. */
function keysOf(version: ModelVersion): string[] {
  const keys = [`name\u0000${version.name}`, `stage\u0000${version.stage}`];
  if (version.baseModel !== undefined) keys.push(`baseModel\u0000${version.baseModel}`);
  if (version.task !== undefined) keys.push(`task\u0000${version.task}`);
  for (const code of version.language) keys.push(`language\u0000${code.toLowerCase()}`);
  for (const tag of version.tags) keys.push(`tag\u0000${tag.toLowerCase()}`);
  // A repeated language or tag repeats its key: adding to a set twice is harmless.
  return keys;
}

const EMPTY: ReadonlySet<string> = new Set();

/** Creates an empty {@link AttributeIndex}. */
export function createAttributeIndex(): AttributeIndex {
  const idsOf = new Map<string, Set<string>>();
  const keysById = new Map<string, string[]>();
  const key = (field: Field, value: string) => `${field}\u0000${value}`;

  const remove = (versionId: string) => {
    const keys = keysById.get(versionId);
    if (keys === undefined) return;
    keysById.delete(versionId);
    for (const entry of keys) {
      const ids = idsOf.get(entry);
      ids?.delete(versionId);
      if (ids?.size === 0) idsOf.delete(entry);
    }
  };

  return {
    add(version) {
      remove(version.id);
      const keys = keysOf(version);
      keysById.set(version.id, keys);
      for (const entry of keys) {
        let ids = idsOf.get(entry);
        if (ids === undefined) {
          ids = new Set();
          idsOf.set(entry, ids);
        }
        ids.add(version.id);
      }
    },
    remove,
    matching(filters) {
      // Each condition is one set of ids (a stage list: the union of its stages' sets).
      const conditions: Array<ReadonlySet<string>> = [];
      const exact = (field: Field, value: string | undefined) => {
        if (value !== undefined) conditions.push(idsOf.get(key(field, value)) ?? EMPTY);
      };
      exact('name', filters.name);
      exact('baseModel', filters.baseModel);
      exact('task', filters.task);
      exact('language', filters.language?.toLowerCase());
      for (const tag of filters.tags ?? []) exact('tag', tag.toLowerCase());
      if (filters.stage !== undefined) {
        const stages = [...new Set([filters.stage].flat())];
        if (stages.length === 1) exact('stage', stages[0]);
        else {
          const union = new Set<string>();
          for (const stage of stages) for (const id of idsOf.get(key('stage', stage)) ?? []) union.add(id);
          conditions.push(union);
        }
      }
      if (conditions.length === 0) return undefined;
      conditions.sort((left, right) => left.size - right.size);
      const [smallest, ...others] = conditions as [ReadonlySet<string>, ...Array<ReadonlySet<string>>];
      if (others.length === 0) return smallest;
      const result = new Set<string>();
      for (const id of smallest) if (others.every((ids) => ids.has(id))) result.add(id);
      return result;
    },
    get size() {
      return keysById.size;
    },
  };
}
