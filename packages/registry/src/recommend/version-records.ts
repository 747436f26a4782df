import type { ModelVersion } from '@tunekit/core';
import { type AttributeIndex, createAttributeIndex } from './attribute-index.js';

/**
 * The recommendation index's version records by id (what filters and results read), with an
 * {@link AttributeIndex} kept in step on every `set` and `delete`, so that structured filters find
 * their matches without testing every record.
 */
export class VersionRecords extends Map<string, ModelVersion> {
  /** Ids by attribute value, always in step with the records. */
  readonly attributes: AttributeIndex = createAttributeIndex();

  /** Records of these versions (a repeated id keeps its last version). */
  static of(versions: Iterable<ModelVersion>): VersionRecords {
    const records = new VersionRecords();
    for (const version of versions) records.set(version.id, version);
    return records;
  }

  /**
   * Records of these versions, built in slices of `slice` (default 512) with a turn of the event
   * loop between them, calling `each` on every version: at 1,000,000 versions the records, their
   * attribute index and fingerprints take about 13 µs of CPU per version (13 s at 1,000,000), which
   * must not hold the thread that answers queries during a background rebuild: slices of 4,096 held
   * it for 400–840 ms at load 15 (`bench/registry-rebuild-gap.ts`, 20,000 cards).
   */
  static async collect(
    versions: readonly ModelVersion[],
    each?: (version: ModelVersion) => void,
    slice = 512,
  ): Promise<VersionRecords> {
    const records = new VersionRecords();
    for (let start = 0; start < versions.length; start += slice) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      for (const version of versions.slice(start, start + slice)) {
        records.set(version.id, version);
        each?.(version);
      }
    }
    return records;
  }

  override set(id: string, version: ModelVersion): this {
    super.set(id, version);
    // Undefined only while Map's constructor runs (before the field exists); `of` adds after it.
    this.attributes?.add(version);
    return this;
  }

  override delete(id: string): boolean {
    this.attributes.remove(id);
    return super.delete(id);
  }

  override clear(): void {
    for (const id of this.keys()) this.attributes.remove(id);
    super.clear();
  }
}
