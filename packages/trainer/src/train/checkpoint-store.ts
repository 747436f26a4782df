import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactStore } from '@tunekit/core';

/**
 * Files of checkpoints, by checkpoint name and file name. Writes are atomic per file; a
 * checkpoint counts as complete once its manifest (written last) exists.
 */
export interface CheckpointStore {
  /** Human-readable location of a checkpoint (a path or an `artifact://` URI). */
  location(checkpoint: string): string;
  write(checkpoint: string, file: string, data: Uint8Array | string): Promise<void>;
  /** Undefined when the file does not exist. */
  read(checkpoint: string, file: string): Promise<Uint8Array | undefined>;
  /** Names of the checkpoints present (complete or not). */
  list(): Promise<string[]>;
  delete(checkpoint: string): Promise<void>;
}

/** Checkpoints as sub-folders of a local directory (temp file + rename per file). */
export function directoryCheckpointStore(directory: string): CheckpointStore {
  return {
    location: (checkpoint) => join(directory, checkpoint),
    async write(checkpoint, file, data) {
      const path = join(directory, checkpoint, file);
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, data);
      await rename(temporary, path);
    },
    async read(checkpoint, file) {
      try {
        return new Uint8Array(await readFile(join(directory, checkpoint, file)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async list() {
      try {
        const entries = await readdir(directory, { withFileTypes: true });
        return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    },
    async delete(checkpoint) {
      await rm(join(directory, checkpoint), { recursive: true, force: true });
    },
  };
}

/** Checkpoints in an {@link ArtifactStore} under a URI prefix (`artifact://runs/<id>/checkpoints`). */
export function artifactCheckpointStore(store: ArtifactStore, prefix: string): CheckpointStore {
  const base = prefix.replace(/\/+$/, '');
  const uri = (checkpoint: string, file?: string) => `${base}/${checkpoint}${file ? `/${file}` : ''}`;
  return {
    location: (checkpoint) => uri(checkpoint),
    async write(checkpoint, file, data) {
      await store.put(uri(checkpoint, file), data);
    },
    async read(checkpoint, file) {
      if (!(await store.exists(uri(checkpoint, file)))) return undefined;
      return store.get(uri(checkpoint, file));
    },
    async list() {
      const infos = await store.list(`${base}/`);
      const names = new Set<string>();
      for (const info of infos) {
        const rest = info.uri.slice(base.length + 1);
        const name = rest.split('/')[0];
        if (name && rest.includes('/')) names.add(name);
      }
      return [...names];
    },
    async delete(checkpoint) {
      await store.deletePrefix(`${uri(checkpoint)}/`);
    },
  };
}
