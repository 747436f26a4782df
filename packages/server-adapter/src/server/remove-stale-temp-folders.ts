import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Temp folders Tunekit creates while serving carry the creating process id:
 * `tunekit-open-model-<pid>-…` (artifact copies of models and adapters that `openModel` loads for
 * the model cache) and `tunekit-parquet-<pid>-…` (spooled Parquet uploads).
 */
export const TEMP_FOLDER_PATTERN = /^tunekit-(open-model|parquet)-(\d+)-/;

/** Whether a process with this id is alive (a permission error means it is, owned by someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp folders left by Tunekit processes that no longer run (killed with `kill -9`, out
 * of memory): a server calls it at start. Folders of live processes, this one included, stay.
 * Resolves with the removed paths.
 */
export async function removeStaleTempFolders(directory: string = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const match = TEMP_FOLDER_PATTERN.exec(entry);
    if (!match) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    const path = join(directory, entry);
    await rm(path, { recursive: true, force: true }).then(
      () => removed.push(path),
      () => undefined,
    );
  }
  return removed;
}
