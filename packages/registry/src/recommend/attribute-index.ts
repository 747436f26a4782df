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
  /** Indexes a version (one not indexed yet: to replace a version, remove the old one first). */
  add(version: ModelVersion): void;
  /** Forgets a version, as it was added. */
  remove(version: ModelVersion): void;
  /** Ids of the versions matching every given filter; undefined when no filter is given (all match). */
  matching(filters: ModelFilters): ReadonlySet<string> | undefined;
}

type Field = 'name' | 'baseModel' | 'task' | 'stage' | 'language' | 'tag';

/** The (field, value) pairs a version is listed under (a repeated language or tag repeats its pair). */
function valuesOf(version: ModelVersion): Array<[Field, string]> {
  const values: Array<[Field, string]> = [
    ['name', version.name],
    ['stage', version.stage],
  ];
  if (version.baseModel !== undefined) values.push(['baseModel', version.baseModel]);
  if (version.task !== undefined) values.push(['task', version.task]);
  for (const code of version.language) values.push(['language', code.toLowerCase()]);
  for (const tag of version.tags) values.push(['tag', tag.toLowerCase()]);
  return values;
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * Creates an empty {@link AttributeIndex}. Memory: nothing is kept per version but its id in the
 * entries of its values, and a value held by one version keeps the id itself instead of a set
 * (most names, at 1,000,000 versions of distinct models).
 */
export function createAttributeIndex(): AttributeIndex {
  // Per field: value → the one id holding it, or the set of ids.
  const fields = new Map<Field, Map<string, string | Set<string>>>(
    (['name', 'baseModel', 'task', 'stage', 'language', 'tag'] as const).map((field) => [field, new Map()]),
  );
  const entryOf = (field: Field) => fields.get(field) as Map<string, string | Set<string>>;
  const idsOf = (field: Field, value: string): ReadonlySet<string> => {
    const entry = entryOf(field).get(value);
    if (entry === undefined) return EMPTY;
    return typeof entry === 'string' ? new Set([entry]) : entry;
  };

  return {
    add(version) {
      for (const [field, value] of valuesOf(version)) {
        const values = entryOf(field);
        const entry = values.get(value);
        if (entry === undefined) values.set(value, version.id);
        else if (typeof entry === 'string') {
          if (entry !== version.id) values.set(value, new Set([entry, version.id]));
        } else entry.add(version.id);
      }
    },
    remove(version) {
      for (const [field, value] of valuesOf(version)) {
        const values = entryOf(field);
        const entry = values.get(value);
        if (entry === version.id) values.delete(value);
        else if (typeof entry === 'object') {
          entry.delete(version.id);
          if (entry.size === 1) values.set(value, entry.values().next().value as string);
          else if (entry.size === 0) values.delete(value);
        }
      }
    },
    matching(filters) {
      // Each condition is one set of ids (a stage list: the union of its stages' sets).
      const conditions: Array<ReadonlySet<string>> = [];
      const exact = (field: Field, value: string | undefined) => {
        if (value !== undefined) conditions.push(idsOf(field, value));
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
          for (const stage of stages) for (const id of idsOf('stage', stage)) union.add(id);
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
  };
}
