import { tunekitError } from '@tunekit/core';
import type { HierarchicalNSW } from 'hnswlib-node';

/** hnswlib-node's index class (cosine space). */
export type HnswConstructor = new (space: 'cosine', dimensions: number) => HierarchicalNSW;

/** Imports hnswlib-node (a native module, loaded on first use); a coded `INTERNAL` error when it cannot load. */
export async function loadHnswlib(): Promise<HnswConstructor> {
  try {
    const module = (await import('hnswlib-node')) as unknown as {
      HierarchicalNSW?: HnswConstructor;
      default?: { HierarchicalNSW: HnswConstructor };
    };
    const hnsw = module.HierarchicalNSW ?? module.default?.HierarchicalNSW;
    if (hnsw === undefined) throw new Error('hnswlib-node exports no HierarchicalNSW');
    return hnsw;
  } catch (error) {
    throw tunekitError(
      'INTERNAL',
      `hnswlib-node could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
      undefined,
      { cause: error },
    );
  }
}
