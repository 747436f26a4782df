import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import type { Dataset } from '../schemas/dataset.js';
import type { DatasetVersion } from '../schemas/dataset-version.js';
import type { Collection } from '../storage/collection.js';
import type { StoreRequest } from './dataset-service-schemas.js';

/** What {@link createDatasetRecords} works on: the `datasets` collection and a dataset's versions. */
export interface DatasetRecordsOptions {
  datasets: Collection<Dataset>;
  /** Every version of a dataset. */
  listVersions: (name: string) => Promise<DatasetVersion[]>;
}

/** The dataset records (one per name) as the dataset service keeps them; see {@link createDatasetRecords}. */
export interface DatasetRecords {
  /** Upserts the dataset record after a version was added or removed (latest version, count). */
  refresh(name: string, kind: Dataset['kind'], description?: string, createdBy?: string): Promise<void>;
  /**
   * Checks that `request` may add a version to the existing `dataset`: same kind, and, with
   * `ownerOnly`, the same owner (`DATASET_NAME_TAKEN` otherwise).
   */
  assertMayJoin(dataset: Dataset, request: StoreRequest): Promise<void>;
  /**
   * Makes sure the record exists before a version is written (an atomic insert-if-absent for a new
   * name, so of two registrations racing to create it exactly one owns it); returns whether this
   * call created it.
   */
  claim(request: StoreRequest): Promise<boolean>;
}

/**
 * The part of the dataset service that owns the `datasets` records: creating and claiming a name,
 * who may add versions to it, and keeping its latest version and count current.
 */
export function createDatasetRecords(options: DatasetRecordsOptions): DatasetRecords {
  const { datasets, listVersions } = options;

  /** Upserts the dataset record after a version was added or removed. */
  const refresh = async (name: string, kind: Dataset['kind'], description?: string, createdBy?: string) => {
    const all = await listVersions(name);
    const latest = all.reduce<DatasetVersion | undefined>(
      (newest, version) => (newest === undefined || version.createdAt >= newest.createdAt ? version : newest),
      undefined,
    );
    const now = new Date().toISOString();
    const existing = await datasets.get(name);
    if (existing === undefined) {
      try {
        await datasets.create({
          id: name,
          name,
          kind,
          description,
          ...(createdBy === undefined ? {} : { createdBy }),
          latestVersionId: latest?.id,
          versionCount: all.length,
          createdAt: now,
          updatedAt: now,
        });
        return;
      } catch (error) {
        // Created by a concurrent registration since the read: update it like an existing one.
        if (!TunekitError.isInstance(error) || error.code !== 'CONFLICT') {
          throw error;
        }
      }
    }
    await datasets.update(name, (current) => ({
      ...current,
      description: current.description ?? description,
      latestVersionId: latest?.id,
      versionCount: all.length,
      updatedAt: now,
    }));
  };

  /** The owner of a dataset: its `createdBy`, else that of its first version that records one. */
  const ownerOf = async (dataset: Dataset): Promise<string | undefined> =>
    dataset.createdBy ??
    (await listVersions(dataset.name)).find((version) => version.createdBy !== undefined)?.createdBy;

  /**
   * Checks that `request` may add a version to the existing `dataset`: same kind, and, with
   * `ownerOnly`, the same owner (`DATASET_NAME_TAKEN` otherwise).
   */
  const assertMayJoin = async (dataset: Dataset, request: StoreRequest): Promise<void> => {
    if (dataset.kind !== request.kind) {
      throw tunekitError(
        'CONFLICT',
        `Dataset "${request.name}" is a ${dataset.kind} dataset, not ${request.kind}`,
        {
          name: request.name,
          kind: dataset.kind,
        },
      );
    }
    if (request.ownerOnly !== true) {
      return;
    }
    const owner = await ownerOf(dataset);
    if (owner === undefined || owner !== request.createdBy) {
      throw tunekitError(
        'DATASET_NAME_TAKEN',
        owner === undefined
          ? `Dataset "${request.name}" has no recorded owner; only an admin adds versions to it`
          : `Dataset "${request.name}" belongs to another user; only its owner or an admin adds versions`,
        { name: request.name },
      );
    }
  };

  /**
   * Makes sure the dataset record exists before a version is written: an existing one is checked
   * with `assertMayJoin`; a new name is claimed with an atomic insert-if-absent, so of two
   * registrations racing to create it exactly one creates it (and owns it) and the other is checked
   * against the winner. Returns whether this call created the record.
   */
  const claim = async (request: StoreRequest): Promise<boolean> => {
    const existing = await datasets.get(request.name);
    if (existing !== undefined) {
      await assertMayJoin(existing, request);
      return false;
    }
    const now = new Date().toISOString();
    try {
      await datasets.create({
        id: request.name,
        name: request.name,
        kind: request.kind,
        description: request.description,
        ...(request.createdBy === undefined ? {} : { createdBy: request.createdBy }),
        versionCount: 0,
        createdAt: now,
        updatedAt: now,
      });
      return true;
    } catch (error) {
      if (!TunekitError.isInstance(error) || error.code !== 'CONFLICT') {
        throw error;
      }
    }
    await assertMayJoin(await datasets.require(request.name), request);
    return false;
  };

  return { refresh, assertMayJoin, claim };
}
