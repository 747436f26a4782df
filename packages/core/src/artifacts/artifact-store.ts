import type { Readable } from 'node:stream';

/** Metadata of one stored artifact. */
export interface ArtifactInfo {
  /** `artifact://<path>` URI. */
  uri: string;
  size: number;
  /** Hex sha256 of the content. */
  sha256: string;
  modifiedAt: string;
}

/**
 * Where large binaries live (dataset versions, checkpoints, adapters, indexes), referenced by
 * `artifact://relative/path` URIs from records. The filesystem implementation writes atomically
 * (temp file + rename) and keeps a checksum; an S3 store can implement the same interface.
 */
export interface ArtifactStore {
  put(uri: string, data: Uint8Array | string | Readable | AsyncIterable<Uint8Array>): Promise<ArtifactInfo>;
  get(uri: string): Promise<Uint8Array>;
  stream(uri: string): Readable;
  exists(uri: string): Promise<boolean>;
  stat(uri: string): Promise<ArtifactInfo | undefined>;
  /** Lists artifacts under a URI prefix. */
  list(prefix: string): Promise<ArtifactInfo[]>;
  delete(uri: string): Promise<boolean>;
  /** Deletes everything under a prefix. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * The local filesystem path of a URI, for stores that have one (native libraries such as
   * onnxruntime and hnswlib read paths); undefined for remote stores.
   */
  localPath?(uri: string): string;
}
