import { type Principal, type Tunekit, tunekitError } from '@tunekit/core';

/**
 * The owner of a dataset: `createdBy` of its record, else of its first version (datasets created
 * before owners were recorded may have neither: then it has no owner and only admins add versions).
 */
export async function datasetOwnerOf(kit: Tunekit, name: string): Promise<string | undefined> {
  const dataset = await kit.datasets.get(name);
  if (dataset === undefined) return undefined;
  if (dataset.createdBy !== undefined) return dataset.createdBy;
  return (await kit.datasets.versions(name)).find((version) => version.createdBy !== undefined)?.createdBy;
}

/**
 * Checks that `principal` may add a version to the dataset `name` (upload, feedback export): a new
 * name is anyone's with the permission; an existing dataset only its owner's and admins'. Otherwise
 * another user could push a version that becomes `latestVersionId` of someone else's dataset, and
 * the owner's next training run would read it. Throws `FORBIDDEN` (403) before any body is read.
 */
export async function assertMayAddDatasetVersion(
  kit: Tunekit,
  principal: Principal | undefined,
  name: string,
): Promise<void> {
  if (principal?.roles.includes('admin')) return;
  if ((await kit.datasets.get(name)) === undefined) return;
  const owner = await datasetOwnerOf(kit, name);
  if (owner !== undefined && owner === principal?.id) return;
  throw tunekitError(
    'FORBIDDEN',
    owner === undefined
      ? `Dataset "${name}" has no recorded owner; only an admin adds versions to it`
      : `Dataset "${name}" belongs to another user; only its owner or an admin adds versions`,
    { name },
  );
}
