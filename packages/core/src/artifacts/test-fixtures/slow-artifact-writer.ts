// Child process for the crash test: writes a large artifact slowly, printing "writing" once the
// write is under way, so the parent can SIGKILL it midway.
import { createFileArtifactStore } from '../file-artifact-store.js';

const [directory, uri] = process.argv.slice(2) as [string, string];
const store = createFileArtifactStore({ directory });
async function* slowChunks(): AsyncIterable<Uint8Array> {
  for (let index = 0; index < 1000; index += 1) {
    yield new Uint8Array(256 * 1024).fill(0x62);
    if (index === 2) {
      process.stdout.write('writing\n');
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}
await store.put(uri, slowChunks());
process.stdout.write('finished\n');
