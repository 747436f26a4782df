import type { ModelVersion } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { type ModelFilters, modelFilterPredicate } from '../model-filters.js';
import { createAttributeIndex } from './attribute-index.js';

const STAGES = ['draft', 'staging', 'production', 'archived'] as const;

/** A deterministic catalogue with repeated names, tasks, languages and tags in mixed case. */
function catalogue(count: number): ModelVersion[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `model-${index % 37}@${index}`,
    name: `model-${index % 37}`,
    versionNumber: index,
    stage: STAGES[index % 4] as ModelVersion['stage'],
    artifactUri: `artifact://models/${index}`,
    task: index % 5 === 0 ? undefined : ['translation', 'summarization'][index % 2],
    baseModel: index % 3 === 0 ? 'gpt2' : undefined,
    language: index % 7 === 0 ? ['EN', 'ja'] : ['en'],
    tags: [
      index % 2 === 0 ? 'Tone' : 'legal',
      ...(index % 11 === 0 ? ['rare'] : []),
      // Held by two versions, one of which is removed below: a set shrinking to one id.
      ...(index === 100 || index === 260 ? ['solo'] : []),
    ],
    description: `#${index}`,
    metrics: {},
    datasets: [],
    trainingParameters: {},
    createdBy: 'test',
    createdAt: '2026-12-07T00:00:00.000Z',
    updatedAt: '2026-12-07T00:00:00.000Z',
    stageChangedAt: '2026-12-07T00:00:00.000Z',
    version: 0,
  })) as ModelVersion[];
}

const FILTERS: ModelFilters[] = [
  { task: 'translation' },
  { tags: ['tone'] },
  { tags: ['TONE', 'rare'] },
  { language: 'JA', stage: ['draft', 'production'] },
  { name: 'model-3', baseModel: 'gpt2' },
  { stage: 'archived', tags: ['legal'], task: 'summarization' },
  { name: 'absent' },
  { tags: ['rare'], language: 'en', stage: ['staging'] },
  { tags: ['solo'] },
  { tags: ['solo'], name: 'model-26' },
];

describe('createAttributeIndex', () => {
  it('matches exactly what the filter predicate accepts, through adds, replacements and removals', () => {
    const versions = catalogue(300);
    const attributes = createAttributeIndex();
    for (const version of versions) attributes.add(version);
    const live = new Map(versions.map((version) => [version.id, version]));
    // Replace some versions (stage and tags change) and remove others.
    for (const version of versions.slice(0, 40)) {
      const changed = { ...version, stage: 'production', tags: ['rare'] } as ModelVersion;
      attributes.remove(version);
      attributes.add(changed);
      live.set(version.id, changed);
    }
    for (const version of versions.slice(250)) {
      attributes.remove(version);
      live.delete(version.id);
    }
    for (const filters of FILTERS) {
      const accept = modelFilterPredicate(filters);
      const expected = [...live.values()].filter(accept).map((version) => version.id);
      expect([...(attributes.matching(filters) ?? [])].sort()).toEqual(expected.sort());
    }
  });

  it('has no opinion on an empty filter', () => {
    const attributes = createAttributeIndex();
    for (const version of catalogue(10)) attributes.add(version);
    expect(attributes.matching({})).toBeUndefined();
    expect(attributes.matching({ tags: [] })).toBeUndefined();
  });
});
