import { z } from 'zod';

/**
 * What {@link buildHnswIndexFile} sends its worker thread: the graph parameters, the vectors (one
 * row of `dimensions` floats per label, labels 0..count-1 in row order) and where to write
 * hnswlib's index file. The vectors' buffer is transferred, not copied.
 */
export const HnswBuildRequestSchema = z.object({
  dimensions: z.number().int().positive(),
  m: z.number().int().min(2),
  efConstruction: z.number().int().positive(),
  seed: z.number().int().min(0),
  /** Elements the file's graph can hold (at least the vector count). */
  capacity: z.number().int().positive(),
  vectors: z.instanceof(Float32Array),
  /** Absolute path of the index file to write. */
  path: z.string().min(1),
  /** A progress message is posted after every this many points (0: none). */
  progressEvery: z.number().int().min(0),
  /**
   * One 32-bit flag over a `SharedArrayBuffer`: the caller stores 1 to cancel. The worker checks it
   * before each point and stops by itself; it is never terminated inside hnswlib's native code
   * (terminating a thread there aborts the whole process: `FATAL ERROR … napi_throw`).
   */
  cancel: z.custom<Int32Array<SharedArrayBuffer>>(
    (value) => value instanceof Int32Array && value.buffer instanceof SharedArrayBuffer,
    'an Int32Array over a SharedArrayBuffer',
  ),
});

/** A request to the HNSW build worker. */
export type HnswBuildRequest = z.infer<typeof HnswBuildRequestSchema>;

/** What the HNSW build worker answers: progress, the finished file, or its failure. */
export const HnswBuildMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), added: z.number().int().min(0) }),
  z.object({
    type: z.literal('built'),
    /** Points added (the vector count). */
    elements: z.number().int().min(0),
    /** Seconds spent adding points and writing the file, measured in the worker. */
    seconds: z.number().min(0),
  }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);

/** A message from the HNSW build worker. */
export type HnswBuildMessage = z.infer<typeof HnswBuildMessageSchema>;
