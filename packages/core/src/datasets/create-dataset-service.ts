import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { createAuditRecorder } from '../audit/create-audit-recorder.js';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import type { EventBus } from '../events/event-bus.js';
import { createSilentLogger, type Logger } from '../logger/logger.js';
import { type Dataset, DatasetNameSchema, DatasetSchema } from '../schemas/dataset.js';
import type { DatasetRow, RowFormat } from '../schemas/dataset-row.js';
import { type DatasetVersion, DatasetVersionSchema } from '../schemas/dataset-version.js';
import type { Storage } from '../storage/collection.js';
import { assignSplits, SplitIndex } from './assign-splits.js';
import { compareDatasets } from './compare-datasets.js';
import { computeDatasetStats } from './compute-dataset-stats.js';
import { createDatasetRecords } from './dataset-records.js';
import type { DatasetService, DatasetSplit } from './dataset-service.js';
import {
  RegisterInputSchema,
  SplitOptionsSchema,
  type StoreRequest,
  versionIdFor,
} from './dataset-service-schemas.js';
import { ingestRows } from './ingest-rows.js';
import { openDatasetSource } from './open-dataset-source.js';
import { rowLabel } from './row-text.js';
import { splitLines } from './split-lines.js';

/** Options of {@link createDatasetService}. */
export interface DatasetServiceOptions {
  storage: Storage;
  artifacts: ArtifactStore;
  events: EventBus;
  logger?: Logger;
  /** Receives one entry per mutating operation (register, split, filter, delete). */
  audit?: AuditSink;
  /** Longest JSONL line / JSON element / CSV record accepted, in bytes (default 16 MiB). */
  maxLineBytes?: number;
  /** How many invalid rows a validation report lists in full (default 20; all are counted). */
  maxReportedIssues?: number;
  /** Where registration spools canonical rows before storing them (default the OS temp directory). */
  temporaryDirectory?: string;
}

/**
 * Creates `kit.datasets` over the kit's storage (records), artifact store (rows as canonical JSONL
 * at `artifact://datasets/<name>/<sha256>.jsonl`) and event bus.
 *
 * @example
 * ```ts
 * const datasets = createDatasetService({ storage, artifacts, events });
 * const version = await datasets.register({ name: 'reviews', kind: 'training', source: { path: 'reviews.csv' } });
 * const { train, validation } = await datasets.split(version.id, { train: 0.9, validation: 0.1, seed: 7 });
 * ```
 */
export function createDatasetService(options: DatasetServiceOptions): DatasetService {
  const { artifacts, events } = options;
  const logger = options.logger ?? createSilentLogger();
  const maxLineBytes = options.maxLineBytes ?? 16 * 1024 * 1024;
  const maxReportedIssues = options.maxReportedIssues ?? 20;
  const datasets = options.storage.collection('datasets', DatasetSchema);
  // A dataset's versions are listed by datasetId: indexed on SQLite and PostgreSQL.
  const versions = options.storage.collection('dataset-versions', DatasetVersionSchema, {
    indexes: ['datasetId'],
  });

  const audit = createAuditRecorder({ sink: options.audit, source: 'datasets', logger, events });

  const requireVersion = async (versionId: string): Promise<DatasetVersion> => {
    const version = await versions.get(versionId);
    if (version === undefined) {
      throw tunekitError('NOT_FOUND', `Dataset version "${versionId}" does not exist`, {
        resourceType: 'dataset-version',
        id: versionId,
      });
    }
    return version;
  };

  const listVersions = async (name: string): Promise<DatasetVersion[]> => {
    const result: DatasetVersion[] = [];
    let cursor: string | undefined;
    do {
      const page = await versions.list({
        filter: { datasetId: name },
        sort: { field: 'createdAt', direction: 'asc' },
        limit: 1000,
        cursor,
      });
      result.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return result;
  };

  async function* readVersionRows(version: DatasetVersion): AsyncGenerator<DatasetRow> {
    for await (const { text } of splitLines(artifacts.stream(version.uri), Number.POSITIVE_INFINITY)) {
      if (text !== undefined && text.length > 0) {
        yield JSON.parse(text) as DatasetRow;
      }
    }
  }

  const records = createDatasetRecords({ datasets, listVersions });

  const store = async (request: StoreRequest): Promise<{ version: DatasetVersion; reused: boolean }> => {
    const existingDataset = await datasets.get(request.name);
    if (existingDataset !== undefined) {
      // Checked before the source is read, and again (atomically for a new name) before writing.
      await records.assertMayJoin(existingDataset, request);
    }
    if (request.parentVersionId !== undefined) {
      await requireVersion(request.parentVersionId);
    }
    const directory = await mkdtemp(join(options.temporaryDirectory ?? tmpdir(), 'tunekit-dataset-'));
    try {
      const opened = await openDatasetSource(request.source, {
        fileFormat: request.fileFormat,
        maxLineBytes,
      });
      const spooled = join(directory, 'rows.jsonl');
      let ingested: Awaited<ReturnType<typeof ingestRows>>;
      try {
        ingested = await ingestRows(opened.rows, {
          rowFormat: request.rowFormat,
          mode: request.mode,
          maxReportedIssues,
          outputPath: spooled,
        });
      } finally {
        await opened.close();
      }
      const id = versionIdFor(request.name, ingested.sha256);
      const created = await records.claim(request);
      try {
        const existing = await versions.get(id);
        if (existing !== undefined) {
          if (created) {
            await records.refresh(request.name, request.kind, request.description, request.createdBy);
          }
          return { version: existing, reused: true };
        }
        const uri = `artifact://datasets/${request.name}/${ingested.sha256}.jsonl`;
        await artifacts.put(uri, createReadStream(spooled));
        const record = {
          id,
          datasetId: request.name,
          name: request.name,
          kind: request.kind,
          rowFormat: ingested.rowFormat,
          fileFormat: opened.fileFormat,
          origin: request.origin ?? opened.origin,
          sha256: ingested.sha256,
          uri,
          rowCount: ingested.rowCount,
          bytes: ingested.bytes,
          sourceBytes: opened.sourceBytes(),
          mode: request.mode,
          droppedRowCount: ingested.report.invalidRows,
          parentVersionId: request.parentVersionId,
          description: request.description,
          ...(request.createdBy === undefined ? {} : { createdBy: request.createdBy }),
          createdAt: new Date().toISOString(),
        };
        let version: DatasetVersion;
        try {
          version = await versions.create(record);
        } catch (error) {
          // The same content registered concurrently under this name: that version is this one.
          const raced =
            TunekitError.isInstance(error) && error.code === 'CONFLICT' && (await versions.get(id));
          if (!raced) {
            throw error;
          }
          return { version: raced, reused: true };
        }
        await records.refresh(request.name, request.kind, request.description, request.createdBy);
        return { version, reused: false };
      } catch (error) {
        // A name this call claimed keeps no empty record behind when its first version failed.
        if (created && (await listVersions(request.name)).length === 0) {
          await datasets.delete(request.name).catch(() => undefined);
        }
        throw error;
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  };

  const announce = (version: DatasetVersion, reused: boolean) => {
    events.emit('dataset:registered', {
      name: version.name,
      versionId: version.id,
      kind: version.kind,
      rowFormat: version.rowFormat,
      rowCount: version.rowCount,
      droppedRowCount: version.droppedRowCount,
      parentVersionId: version.parentVersionId,
      reused,
    });
    logger.info(
      {
        dataset: version.name,
        versionId: version.id,
        rows: version.rowCount,
        dropped: version.droppedRowCount,
        reused,
      },
      'dataset version registered',
    );
  };

  const service: DatasetService = {
    async register(input, context) {
      const parsed = parseOrThrow(RegisterInputSchema, input, 'dataset registration');
      const { version } = await audit.run(
        {
          action: 'dataset.register',
          resourceType: 'dataset-version',
          resultResourceId: (stored) => stored.version.id,
          details: ({ version, reused }) => ({
            name: version.name,
            rowCount: version.rowCount,
            droppedRowCount: version.droppedRowCount,
            reused,
          }),
          // No version exists when registration fails: the entry names the dataset.
          failure: { resourceType: 'dataset', resourceId: parsed.name },
        },
        context,
        async () => {
          try {
            const stored = await store({ ...parsed, createdBy: context?.actor });
            announce(stored.version, stored.reused);
            return stored;
          } catch (error) {
            const code = TunekitError.isInstance(error) ? error.code : 'INTERNAL';
            const report = TunekitError.isInstance(error)
              ? (error.details.report as { invalidRows?: number } | undefined)
              : undefined;
            events.emit('dataset:rejected', {
              name: parsed.name,
              code,
              message: (error as Error).message,
              invalidRows: report?.invalidRows,
            });
            throw error;
          }
        },
      );
      return version;
    },

    async validate(input) {
      const parsed = parseOrThrow(
        RegisterInputSchema.pick({ source: true, fileFormat: true, rowFormat: true }),
        input,
        'dataset validation',
      );
      const opened = await openDatasetSource(parsed.source, { fileFormat: parsed.fileFormat, maxLineBytes });
      try {
        const result = await ingestRows(opened.rows, {
          rowFormat: parsed.rowFormat,
          mode: 'lenient',
          maxReportedIssues,
        });
        return { fileFormat: opened.fileFormat, rowFormat: result.rowFormat, report: result.report };
      } catch (error) {
        const report = TunekitError.isInstance(error) ? error.details.report : undefined;
        if (report !== undefined && TunekitError.isInstance(error)) {
          // No valid row at all: still a validation result, not a failure of the call.
          return {
            fileFormat: opened.fileFormat,
            rowFormat: error.details.rowFormat as RowFormat,
            report: report as never,
          };
        }
        throw error;
      } finally {
        await opened.close();
      }
    },

    get: (name) => datasets.get(name),

    list: (query = {}) =>
      datasets.list({
        filter: query.kind === undefined ? undefined : { kind: query.kind },
        sort: { field: 'name', direction: 'asc' },
        limit: query.limit,
        cursor: query.cursor,
      }),

    versions: (name) => listVersions(name),

    getVersion: (versionId) => versions.get(versionId),

    rows(versionId) {
      return {
        async *[Symbol.asyncIterator]() {
          yield* readVersionRows(await requireVersion(versionId));
        },
      };
    },

    async stats(versionId, statsOptions) {
      const version = await requireVersion(versionId);
      return computeDatasetStats(readVersionRows(version), version, statsOptions);
    },

    async compare(versionA, versionB, compareOptions) {
      const a = await requireVersion(versionA);
      const b = await requireVersion(versionB);
      return compareDatasets(
        { id: a.id, rowFormat: a.rowFormat, rows: readVersionRows(a) },
        { id: b.id, rowFormat: b.rowFormat, rows: readVersionRows(b) },
        compareOptions,
      );
    },

    async split(versionId, splitOptions, context) {
      const parsed = parseOrThrow(SplitOptionsSchema, splitOptions, 'split options');
      const parent = await requireVersion(versionId);
      const { split } = await audit.run(
        {
          action: 'dataset.split',
          resourceType: 'dataset-version',
          resourceId: parent.id,
          details: ({ split, stratify }) => ({
            seed: parsed.seed,
            stratified: stratify,
            train: split.train.id,
            validation: split.validation.id,
            test: split.test?.id,
          }),
        },
        context,
        async () => {
          const stratify = parsed.stratify ?? parent.rowFormat === 'classification';
          let assignment: Uint8Array;
          if (stratify) {
            const labels: (string | undefined)[] = [];
            for await (const row of readVersionRows(parent)) {
              labels.push(rowLabel(row, parent.rowFormat));
            }
            assignment = assignSplits(labels, parsed, parsed.seed);
          } else {
            assignment = assignSplits(parent.rowCount, parsed, parsed.seed);
          }
          const targets: { split: keyof DatasetSplit; index: number; kind: Dataset['kind'] }[] = [
            { split: 'train', index: SplitIndex.train, kind: 'training' },
            { split: 'validation', index: SplitIndex.validation, kind: 'validation' },
          ];
          if (parsed.test > 0) {
            targets.push({ split: 'test', index: SplitIndex.test, kind: 'test' });
          }
          for (const target of targets) {
            const count = assignment.reduce((sum, value) => sum + (value === target.index ? 1 : 0), 0);
            if (count === 0) {
              throw tunekitError(
                'VALIDATION_FAILED',
                `The ${target.split} split of ${parent.rowCount} rows would be empty; change the ratios`,
                { split: target.split, rowCount: parent.rowCount },
              );
            }
          }
          const result: Partial<DatasetSplit> = {};
          for (const target of targets) {
            async function* selected(): AsyncGenerator<DatasetRow> {
              let index = 0;
              for await (const row of readVersionRows(parent)) {
                if (assignment[index] === target.index) {
                  yield row;
                }
                index += 1;
              }
            }
            const { version, reused } = await store({
              name: parsed.names[target.split] ?? `${parent.name}-${target.split}`,
              kind: target.kind,
              source: { rows: selected() },
              rowFormat: parent.rowFormat,
              mode: 'strict',
              parentVersionId: parent.id,
              description: `${target.split} split (seed ${parsed.seed}) of ${parent.name} ${parent.id}`,
              origin: 'split',
              createdBy: context?.actor,
            });
            announce(version, reused);
            result[target.split] = version;
          }
          const split = result as DatasetSplit;
          events.emit('dataset:split', {
            versionId: parent.id,
            trainVersionId: split.train.id,
            validationVersionId: split.validation.id,
            testVersionId: split.test?.id,
          });
          return { split, stratify };
        },
      );
      return split;
    },

    async filter(versionId, predicate, filterOptions = {}, context) {
      const parent = await requireVersion(versionId);
      const name =
        filterOptions.name === undefined ? parent.name : DatasetNameSchema.parse(filterOptions.name);
      let kept = 0;
      let removed = 0;
      async function* keptRows(): AsyncGenerator<DatasetRow> {
        let index = 0;
        for await (const row of readVersionRows(parent)) {
          if (await predicate(row, index)) {
            kept += 1;
            yield row;
          } else {
            removed += 1;
          }
          index += 1;
        }
      }
      return audit.run(
        {
          action: 'dataset.filter',
          resourceType: 'dataset-version',
          resourceId: parent.id,
          details: (version) => ({ childVersionId: version.id, keptRows: kept, removedRows: removed }),
        },
        context,
        async () => {
          const { version, reused } = await store({
            name,
            kind: parent.kind,
            source: { rows: keptRows() },
            rowFormat: parent.rowFormat,
            mode: 'strict',
            parentVersionId: parent.id,
            description: filterOptions.description ?? `filtered from ${parent.name} ${parent.id}`,
            origin: 'filter',
            createdBy: context?.actor,
          }).catch((error: unknown) => {
            if (TunekitError.isInstance(error) && error.code === 'DATASET_EMPTY') {
              throw tunekitError(
                'DATASET_EMPTY',
                `The filter kept none of the ${parent.rowCount} rows of ${parent.id}`,
                { versionId: parent.id },
              );
            }
            throw error;
          });
          announce(version, reused);
          events.emit('dataset:filtered', {
            versionId: parent.id,
            childVersionId: version.id,
            keptRows: kept,
            removedRows: removed,
          });
          return version;
        },
      );
    },

    async delete(name, context) {
      const dataset = await datasets.get(name);
      if (dataset === undefined) {
        return false;
      }
      const all = await listVersions(name);
      for (const version of all) {
        await artifacts.delete(version.uri);
        await versions.delete(version.id);
      }
      await datasets.delete(name);
      const versionIds = all.map((version) => version.id);
      events.emit('dataset:deleted', { name, versionIds });
      await audit.record(
        {
          action: 'dataset.delete',
          resourceType: 'dataset',
          resourceId: name,
          outcome: 'success',
          details: { versionIds },
        },
        context,
      );
      return true;
    },

    async deleteVersion(versionId, context) {
      const version = await versions.get(versionId);
      if (version === undefined) {
        return false;
      }
      await artifacts.delete(version.uri);
      await versions.delete(version.id);
      if ((await datasets.get(version.name)) !== undefined) {
        await records.refresh(version.name, version.kind);
      }
      events.emit('dataset:deleted', { name: version.name, versionIds: [version.id] });
      await audit.record(
        {
          action: 'dataset.version.delete',
          resourceType: 'dataset-version',
          resourceId: version.id,
          outcome: 'success',
        },
        context,
      );
      return true;
    },
  };
  return service;
}
