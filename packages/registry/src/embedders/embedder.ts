/** Turns texts into fixed-size vectors (the registry's recommendation and search use one). */
export interface Embedder {
  /** Name it is registered under (`hashing`, a model name …), recorded with the index. */
  readonly name: string;
  /** Length of every vector. */
  readonly dimensions: number;
  /** One vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /**
   * The HNSW search breadth (`efSearch`) this embedder's vectors need, used when the registry's
   * `hnsw.efSearch` is not set. Dense sentence embeddings reach recall@10 ≥ 0.98 with the index's
   * default; hashed bag-of-words vectors (the hashing embedder: 256) need a wider search.
   */
  readonly efSearch?: number;
}

declare module '@tunekit/core' {
  interface ExtensionPoints {
    /** An embedder turns texts into vectors (the registry's recommendation picks one by name). */
    embedder: Embedder;
  }
}
