import {
  DatasetFileFormatSchema,
  DatasetKindSchema,
  DatasetNameSchema,
  DatasetSchema,
  DatasetVersionSchema,
  RowFormatSchema,
  tunekitError,
} from '@tunekit/core';
import { z } from 'zod';
import { uploadedFile } from '../server/upload-stream.js';
import { JsonObjectSchema, PageQuerySchema, pageOf } from './common-schemas.js';
import { assertMayAddDatasetVersion } from './dataset-ownership.js';
import { defineRoute, type RouteContext } from './route-definition.js';

const uploadBody = {
  contentTypes: ['multipart/form-data', 'application/octet-stream', 'application/x-ndjson', 'text/csv'],
  description: 'The file: one multipart file part, or the raw bytes (JSONL, JSON, CSV or Parquet).',
};

/** Query of `POST /datasets` (upload). */
export const UploadDatasetQuerySchema = z.object({
  name: DatasetNameSchema,
  kind: DatasetKindSchema.default('training'),
  file_format: DatasetFileFormatSchema.optional(),
  row_format: RowFormatSchema.optional(),
  mode: z.enum(['strict', 'lenient']).default('strict'),
  file_name: z
    .string()
    .max(255)
    .regex(/^[^/\\]+$/, 'must be a file name without folders')
    .optional(),
  description: z.string().max(10_000).optional(),
});

async function requireFile(context: RouteContext<unknown, { file_name?: string }, unknown>) {
  if (!context.bodyStream) {
    throw tunekitError('VALIDATION_FAILED', 'The request has no body');
  }
  return uploadedFile(
    context.bodyStream,
    context.headers,
    context.server.uploadLimit,
    context.query.file_name,
  );
}

/** `POST /datasets`: uploads a file as a new dataset version (streamed, size-limited, validated). */
export const uploadDatasetRoute = defineRoute({
  method: 'POST',
  path: '/datasets',
  operationId: 'uploadDataset',
  summary:
    'Upload a file as a new dataset version (multipart or raw body; yours or a new name, unless admin)',
  tag: 'datasets',
  access: 'datasets:create',
  query: UploadDatasetQuerySchema,
  rawBody: uploadBody,
  response: DatasetVersionSchema,
  status: 201,
  handler: async (context) => {
    const { kit, query, operation, serviceAudited } = context;
    // Only the dataset's owner (or an admin) adds versions: checked before the upload is read.
    await assertMayAddDatasetVersion(kit, context.principal, query.name);
    const file = await requireFile(context);
    // dataset.register is audited on success and on every failure (the query schema covers its input
    // checks), including an upload past the size limit.
    const registered = kit.datasets.register(
      {
        name: query.name,
        kind: query.kind,
        source: { stream: file.stream, fileName: file.fileName },
        fileFormat: query.file_format,
        rowFormat: query.row_format,
        mode: query.mode,
        description: query.description,
        // The check above reads the record before the upload; this one is atomic where the dataset
        // record is written, so of two uploads racing to create one name only one user owns it.
        ownerOnly: context.principal?.roles.includes('admin') !== true,
      },
      operation,
    );
    return serviceAudited(registered, { failures: true });
  },
});

/** `POST /datasets/validate`: validates a file without storing it. */
export const validateDatasetRoute = defineRoute({
  method: 'POST',
  path: '/datasets/validate',
  operationId: 'validateDataset',
  summary: 'Validate a file without storing it',
  tag: 'datasets',
  access: 'datasets:read',
  mutating: false,
  query: UploadDatasetQuerySchema.pick({ file_format: true, row_format: true, file_name: true }),
  rawBody: uploadBody,
  response: z.object({
    fileFormat: DatasetFileFormatSchema.optional(),
    rowFormat: RowFormatSchema,
    report: JsonObjectSchema,
  }),
  handler: async (context) => {
    const file = await requireFile(context);
    const result = await context.kit.datasets.validate({
      source: { stream: file.stream, fileName: file.fileName },
      fileFormat: context.query.file_format,
      rowFormat: context.query.row_format,
    });
    return { ...result, report: result.report as unknown as Record<string, unknown> };
  },
});

/** `GET /datasets`. */
export const listDatasetsRoute = defineRoute({
  method: 'GET',
  path: '/datasets',
  operationId: 'listDatasets',
  summary: 'List datasets',
  tag: 'datasets',
  access: 'datasets:read',
  query: PageQuerySchema.extend({ kind: DatasetKindSchema.optional() }),
  response: pageOf(DatasetSchema),
  handler: async ({ kit, query }) => kit.datasets.list(query),
});

const NameParamsSchema = z.object({ name: DatasetNameSchema });

async function requireDataset(context: RouteContext<{ name: string }, unknown, unknown>) {
  const dataset = await context.kit.datasets.get(context.params.name);
  if (!dataset) throw tunekitError('NOT_FOUND', `No dataset "${context.params.name}"`);
  return dataset;
}

/** `GET /datasets/{name}`. */
export const getDatasetRoute = defineRoute({
  method: 'GET',
  path: '/datasets/{name}',
  operationId: 'getDataset',
  summary: 'Get a dataset',
  tag: 'datasets',
  access: 'datasets:read',
  params: NameParamsSchema,
  response: DatasetSchema,
  handler: requireDataset,
});

/** `GET /datasets/{name}/versions`. */
export const listDatasetVersionsRoute = defineRoute({
  method: 'GET',
  path: '/datasets/{name}/versions',
  operationId: 'listDatasetVersions',
  summary: 'Versions of a dataset, oldest first',
  tag: 'datasets',
  access: 'datasets:read',
  params: NameParamsSchema,
  response: z.object({ items: z.array(DatasetVersionSchema) }),
  handler: async (context) => {
    await requireDataset(context);
    return { items: await context.kit.datasets.versions(context.params.name) };
  },
});

/** `GET /dataset-versions/{id}/stats`: lengths, labels, duplicates of a version. */
export const datasetStatsRoute = defineRoute({
  method: 'GET',
  path: '/dataset-versions/{id}/stats',
  operationId: 'getDatasetStats',
  summary: 'Statistics of a dataset version',
  tag: 'datasets',
  access: 'datasets:read',
  params: z.object({ id: z.string().min(1).max(200) }),
  response: JsonObjectSchema,
  handler: async ({ kit, params }) => {
    if (!(await kit.datasets.getVersion(params.id))) {
      throw tunekitError('NOT_FOUND', `No dataset version "${params.id}"`);
    }
    return (await kit.datasets.stats(params.id)) as unknown as Record<string, unknown>;
  },
});

/** Dataset routes. */
export const datasetRoutes = [
  uploadDatasetRoute,
  validateDatasetRoute,
  listDatasetsRoute,
  getDatasetRoute,
  listDatasetVersionsRoute,
  datasetStatsRoute,
];
