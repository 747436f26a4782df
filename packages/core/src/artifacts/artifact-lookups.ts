import type { ArtifactInfo, ArtifactStore } from './artifact-store.js';
import { parseArtifactPrefix, parseArtifactUri } from './artifact-uri.js';

/** Info reads `list` runs at once (a listing of thousands of objects must not open thousands of requests). */
const LIST_CONCURRENCY = 16;

/** What a store knows how to do with checked paths (`a/b.bin`, the URI without its scheme). */
export interface ArtifactLookupSource {
  /** The info of one stored path, or undefined when nothing is stored there. */
  infoOf(path: string): Promise<ArtifactInfo | undefined>;
  /** The stored paths that start with a checked path prefix, reserved names left out, in any order. */
  listPaths(pathPrefix: string): Promise<string[]>;
}

/**
 * `exists`, `stat` and `list` of an {@link ArtifactStore} from its two primitives: every store checks
 * URIs and prefixes the same way (`ARTIFACT_INVALID_URI`) and lists the same way (sorted by URI, info
 * read with bounded concurrency, an artifact deleted during the listing left out).
 */
export function createArtifactLookups(
  source: ArtifactLookupSource,
): Pick<ArtifactStore, 'exists' | 'stat' | 'list'> {
  return {
    async exists(uri) {
      return (await source.infoOf(parseArtifactUri(uri))) !== undefined;
    },
    // async: a malformed URI rejects, it does not throw.
    async stat(uri) {
      return source.infoOf(parseArtifactUri(uri));
    },
    async list(prefix) {
      const paths = (await source.listPaths(parseArtifactPrefix(prefix))).sort();
      const infos: Array<ArtifactInfo | undefined> = new Array(paths.length);
      let next = 0;
      const reader = async () => {
        while (next < paths.length) {
          const index = next;
          next += 1;
          infos[index] = await source.infoOf(paths[index] as string);
        }
      };
      await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, paths.length) }, reader));
      return infos.filter((info): info is ArtifactInfo => info !== undefined);
    },
  };
}
