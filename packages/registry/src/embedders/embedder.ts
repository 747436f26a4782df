/** Turns texts into fixed-size vectors (the registry's recommendation and search use one). */
export interface Embedder {
  /** Name it is registered under (`hashing`, a model name …), recorded with the index. */
  readonly name: string;
  /** Length of every vector. */
  readonly dimensions: number;
  /** One vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

declare module '@tunekit/core' {
  interface ExtensionPoints {
    /** An embedder turns texts into vectors (the registry's recommendation picks one by name). */
    embedder: Embedder;
  }
}
