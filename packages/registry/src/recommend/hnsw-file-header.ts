import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `work` with the path of a file in a fresh temporary folder, removed afterwards. */
export async function withTemporaryFile<T>(work: (path: string) => Promise<T>): Promise<T> {
  const folder = await mkdtemp(join(tmpdir(), 'tunekit-hnsw-'));
  try {
    return await work(join(folder, 'index.bin'));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Checks an hnswlib file header before the native reader sees it (hnswlib trusts the dimensions it is
 * given, so a file of other dimensions would be misread): `offsetLevel0, maxElements, count,
 * sizeDataPerElement, labelOffset, offsetData` are the first six 64-bit fields; the vector takes
 * `labelOffset - offsetData` bytes (4 per dimension).
 */
export function checkHnswHeader(
  header: Uint8Array,
  fileSize: number,
  labels: Array<string | null>,
  dimensions: number,
): void {
  if (header.byteLength < 96) throw new Error(`index file too short (${fileSize} bytes)`);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const field = (position: number) => Number(view.getBigUint64(position * 8, true));
  const [maxElements, count, sizeDataPerElement, labelOffset, offsetData] = [1, 2, 3, 4, 5].map(field) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const fileDimensions = (labelOffset - offsetData) / 4;
  if (fileDimensions !== dimensions) {
    throw new Error(`index file has ${fileDimensions} dimensions, expected ${dimensions}`);
  }
  if (count !== labels.length || count > maxElements) {
    throw new Error(`index file holds ${count} elements but ${labels.length} labels`);
  }
  if (fileSize < count * sizeDataPerElement) {
    throw new Error('index file is truncated');
  }
}

/** The first 96 bytes of a file and its size. */
export async function readHnswHeader(path: string): Promise<{ header: Uint8Array; size: number }> {
  const handle = await open(path, 'r');
  try {
    const header = new Uint8Array(96);
    const { bytesRead } = await handle.read(header, 0, 96, 0);
    return { header: header.subarray(0, bytesRead), size: (await stat(path)).size };
  } finally {
    await handle.close();
  }
}
