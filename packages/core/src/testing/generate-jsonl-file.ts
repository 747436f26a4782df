import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/**
 * Writes a synthetic classification dataset as JSONL of about `targetBytes` bytes, streaming (for
 * memory tests and benchmarks). Every `invalidEvery`-th row (when given) has a wrong-typed label.
 *
 * @param path - the file to write (replaced if it exists).
 * @param targetBytes - the size to reach; the file ends at the first row past it.
 * @param options - `invalidEvery`: every n-th row gets a label of the wrong type.
 * @returns the number of rows and bytes written.
 * @example
 * ```ts
 * import { generateJsonlFile } from '@tunekit/core/testing';
 * const { rows } = await generateJsonlFile('/tmp/big.jsonl', 300 * 1024 * 1024, { invalidEvery: 1000 });
 * ```
 */
export async function generateJsonlFile(
  path: string,
  targetBytes: number,
  options: { invalidEvery?: number } = {},
): Promise<{ rows: number; bytes: number }> {
  const output = createWriteStream(path);
  const words = [
    'model',
    'dataset',
    'token',
    'gradient',
    'adapter',
    'review',
    'great',
    'poor',
    'fine',
    'tune',
  ];
  let bytes = 0;
  let rows = 0;
  let batch = '';
  while (bytes < targetBytes) {
    const length = 8 + (rows % 40);
    const text = Array.from({ length }, (_, index) => words[(rows * 7 + index * 3) % words.length]).join(' ');
    const invalid =
      options.invalidEvery !== undefined && rows % options.invalidEvery === options.invalidEvery - 1;
    const line = `${JSON.stringify({ id: rows, text: `${rows} ${text}`, label: invalid ? 1.5 : rows % 3 === 0 ? 'positive' : 'negative' })}\n`;
    batch += line;
    bytes += Buffer.byteLength(line);
    rows += 1;
    if (batch.length > 1 << 20) {
      if (!output.write(batch)) {
        await once(output, 'drain');
      }
      batch = '';
    }
  }
  output.write(batch);
  const closed = once(output, 'close');
  output.end();
  await closed;
  return { rows, bytes };
}
