import type { TunekitOptions } from '@tunekit/core';
import { CliUsageError } from './cli-command.js';

/**
 * The environment variables that put a `tunekit serve` or `tunekit worker` process into a
 * deployment of several processes (deploy/compose.yaml, deploy/kubernetes), with what each sets.
 */
export const SCALE_OUT_ENVIRONMENT = {
  TUNEKIT_STORAGE_URL: 'shared record store: redis://… or postgres://…',
  TUNEKIT_QUEUE_ENGINE: 'bullmq or pg-boss (default: bullmq for a redis:// store, pg-boss for postgres://)',
  TUNEKIT_QUEUE_URL: "the engine's connection URL (default TUNEKIT_STORAGE_URL)",
  TUNEKIT_S3_BUCKET:
    'shared artifacts in this S3 bucket (credentials from the AWS SDK chain, e.g. AWS_ACCESS_KEY_ID)',
  TUNEKIT_S3_ENDPOINT: 'an S3-compatible server (MinIO, Ceph …); default AWS',
  TUNEKIT_S3_PREFIX: 'key prefix inside the bucket, ending with "/"',
  TUNEKIT_S3_REGION: 'region (default us-east-1)',
  TUNEKIT_LEASE_MS: 'how long a dead worker holds its job before another takes it over (default 30000)',
  TUNEKIT_POLL_INTERVAL_MS:
    'how often running jobs are checked for a cancel from another process (default 1000)',
} as const;

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new CliUsageError(`${name} must be a positive integer, got "${value}"`);
  return number;
}

/**
 * The `createTunekit` options of a process of a deployment, from {@link SCALE_OUT_ENVIRONMENT}:
 * shared storage, a queue engine and S3 artifacts. Empty when none of them is set (the embedded
 * single-process setup). `work: false` makes a kit that submits and follows jobs but runs none.
 */
export function scaleOutOptionsFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  jobs: NonNullable<TunekitOptions['jobs']> = {},
): Pick<TunekitOptions, 'storage' | 'artifacts' | 'jobs'> {
  const options: Pick<TunekitOptions, 'storage' | 'artifacts' | 'jobs'> = {};
  const storageUrl = env.TUNEKIT_STORAGE_URL || undefined;
  if (storageUrl !== undefined) {
    if (/^rediss?:\/\//.test(storageUrl)) options.storage = { driver: 'redis', url: storageUrl };
    else if (/^postgres(ql)?:\/\//.test(storageUrl))
      options.storage = { driver: 'postgres', uri: storageUrl };
    else
      throw new CliUsageError(
        `TUNEKIT_STORAGE_URL must be a redis:// or postgres:// URL, got "${storageUrl}"`,
      );
  }
  const engine =
    env.TUNEKIT_QUEUE_ENGINE ||
    (storageUrl?.startsWith('redis') ? 'bullmq' : storageUrl?.startsWith('postgres') ? 'pg-boss' : undefined);
  if (engine !== undefined && engine !== 'bullmq' && engine !== 'pg-boss' && engine !== 'in-process') {
    throw new CliUsageError(`TUNEKIT_QUEUE_ENGINE must be bullmq, pg-boss or in-process, got "${engine}"`);
  }
  const leaseMs = positiveInteger('TUNEKIT_LEASE_MS', env.TUNEKIT_LEASE_MS);
  const pollIntervalMs = positiveInteger('TUNEKIT_POLL_INTERVAL_MS', env.TUNEKIT_POLL_INTERVAL_MS);
  if (engine !== undefined || Object.keys(jobs).length > 0 || leaseMs || pollIntervalMs) {
    options.jobs = {
      ...(engine === undefined ? {} : { engine: engine as 'bullmq' | 'pg-boss' | 'in-process' }),
      ...(env.TUNEKIT_QUEUE_URL ? { url: env.TUNEKIT_QUEUE_URL } : {}),
      ...(leaseMs === undefined ? {} : { leaseMs }),
      ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
      ...jobs,
    };
  }
  if (env.TUNEKIT_S3_BUCKET) {
    options.artifacts = {
      s3: {
        bucket: env.TUNEKIT_S3_BUCKET,
        ...(env.TUNEKIT_S3_ENDPOINT ? { endpoint: env.TUNEKIT_S3_ENDPOINT } : {}),
        ...(env.TUNEKIT_S3_PREFIX ? { prefix: env.TUNEKIT_S3_PREFIX } : {}),
        ...(env.TUNEKIT_S3_REGION ? { region: env.TUNEKIT_S3_REGION } : {}),
        ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
            }
          : {}),
      },
    };
  }
  return options;
}
