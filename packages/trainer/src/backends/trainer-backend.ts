import type { InferenceSession } from 'onnxruntime-node';

/** Where a session runs: a concrete device, or `auto` (CUDA when it loads, else CPU). */
export type Device = 'cpu' | 'cuda' | 'auto';

/** Options of {@link TrainerBackend.createSession}. */
export interface BackendSessionOptions {
  /** Intra-op threads (CPU). Default: onnxruntime's choice (all cores). */
  threads?: number;
  /** onnxruntime graph optimization level. Default `all`. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Extra onnxruntime session configuration entries (`session.*`, `optimization.*` keys). */
  extra?: Record<string, string>;
  /**
   * onnxruntime's memory pattern (default on): after the first run it plans one block for all
   * intermediate tensors and allocates it on later runs, in addition to the arena chunks the first
   * run left. `createGraphSession` turns it off for large training graphs (see
   * `TRAINING_SESSION_EXTRA`).
   */
  memoryPattern?: boolean;
}

/**
 * A way to run ONNX graphs: maps a device to onnxruntime execution providers. Registered on the
 * kit's `trainerBackend` extension point by {@link trainerPlugin}; third parties can add others.
 */
export interface TrainerBackend {
  /** `cpu`, `cuda` … */
  readonly name: string;
  /** The execution providers passed to onnxruntime, in order. */
  readonly executionProviders: readonly string[];
  /** Creates a session for a serialized model or a model file path. */
  createSession(model: Uint8Array | string, options?: BackendSessionOptions): Promise<InferenceSession>;
}

declare module '@tunekit/core' {
  interface ExtensionPoints {
    /** A trainer backend (device → onnxruntime execution providers). */
    trainerBackend: TrainerBackend;
  }
}
