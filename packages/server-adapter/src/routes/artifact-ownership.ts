import {
  type Job,
  type Principal,
  parseArtifactUri,
  TrainingJobInputSchema,
  type Tunekit,
  type TunekitError,
  trainingOutputUri,
  tunekitError,
} from '@tunekit/core';

/** How many of the caller's jobs {@link assertOwnsArtifact} looks through at most (newest pages first). */
const MAX_JOBS_SCANNED = 5000;

/** The path segments of an artifact URI (trailing slashes dropped), or undefined when it is not a valid one. */
function segmentsOf(uri: string): string[] | undefined {
  try {
    return parseArtifactUri(uri.replace(/\/+$/, '')).split('/');
  } catch {
    return undefined;
  }
}

/**
 * The artifact folders a job produced: `output.output` of a finished job and, for a training job,
 * `artifact://models/<outputName>/<jobId>`. A folder of fewer than two segments (the store root or a
 * top-level folder such as `artifact://models`) is never counted: it would make every artifact under
 * it the job owner's.
 */
export function jobOutputFolders(job: Pick<Job, 'id' | 'input' | 'output'>): string[][] {
  const uris: string[] = [];
  const output = job.output as { output?: unknown } | undefined;
  if (typeof output?.output === 'string') uris.push(output.output);
  const input = TrainingJobInputSchema.safeParse(job.input);
  if (input.success) {
    const planned = trainingOutputUri(input.data, job.id);
    if (planned !== undefined) uris.push(planned);
  }
  return uris
    .map((uri) => segmentsOf(uri))
    .filter((segments): segments is string[] => segments !== undefined && segments.length >= 2);
}

function isInside(folder: readonly string[], path: readonly string[]): boolean {
  return folder.length <= path.length && folder.every((segment, index) => path[index] === segment);
}

function notYours(artifactUri: string, reason: string): TunekitError {
  return tunekitError('FORBIDDEN', `"${artifactUri}" is not one of your artifacts: ${reason}`, {
    artifactUri,
    reason,
  });
}

/**
 * Checks that `artifactUri` is the caller's to register (`POST /models`): admins may name any
 * artifact; anyone else only one inside the output folder of a job they own (the given
 * `trainingJobId`, else any of their jobs). The model card (`README.md`, `model-card.json`) is written
 * to the artifact's folder, or next to it when it is a file, so that folder must be inside the
 * output too: registration never writes into a folder the caller does not own. Throws `FORBIDDEN`
 * (403) otherwise and `ARTIFACT_INVALID_URI` (400) for a malformed URI.
 */
export async function assertOwnsArtifact(
  kit: Tunekit,
  principal: Principal | undefined,
  artifactUri: string,
  trainingJobId?: string,
): Promise<void> {
  if (principal?.roles.includes('admin')) return;
  // Throws ARTIFACT_INVALID_URI for "..", empty segments, backslashes …
  const path = parseArtifactUri(artifactUri.replace(/\/+$/, '')).split('/');
  if (principal === undefined) throw notYours(artifactUri, 'anonymous callers own no artifacts');
  const info = await kit.artifacts.stat(`artifact://${path.join('/')}`).catch(() => undefined);
  // The card goes next to a file, into a folder.
  const cardFolder = info === undefined ? path : path.slice(0, -1);
  const owns = (job: Job) =>
    job.owner === principal.id &&
    jobOutputFolders(job).some((folder) => isInside(folder, path) && isInside(folder, cardFolder));
  if (trainingJobId !== undefined) {
    const job = await kit.jobs.get(trainingJobId);
    if (job !== undefined && owns(job)) return;
    throw notYours(artifactUri, `it is not inside the output of your job "${trainingJobId}"`);
  }
  let cursor: string | undefined;
  let scanned = 0;
  do {
    const page = await kit.jobs.list({ owner: principal.id, limit: 100, cursor });
    if (page.items.some(owns)) return;
    scanned += page.items.length;
    cursor = page.nextCursor;
  } while (cursor !== undefined && scanned < MAX_JOBS_SCANNED);
  throw notYours(
    artifactUri,
    'register an artifact inside the output folder of one of your jobs (or ask an admin)',
  );
}
