import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTempFolders } from '@tunekit/server-adapter';
import { describe, expect, it } from 'vitest';

describe('temp folders', () => {
  it('a restarted server removes the temp folders of dead Tunekit processes, and only those', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-temp-test-'));
    try {
      // pid 2^22+1 is above Linux's pid_max default: no such process.
      const dead = join(directory, 'tunekit-open-model-4194305-abc');
      const alive = join(directory, `tunekit-parquet-${process.pid}-def`);
      const other = join(directory, 'unrelated-4194305-x');
      for (const path of [dead, alive, other]) await writeFile(path, 'x');
      expect(await removeStaleTempFolders(directory)).toEqual([dead]);
      expect((await readdir(directory)).sort()).toEqual(
        [alive, other].map((path) => path.slice(directory.length + 1)).sort(),
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
