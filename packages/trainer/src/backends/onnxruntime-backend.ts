import type { InferenceSession } from 'onnxruntime-node';
import type { BackendSessionOptions, TrainerBackend } from './trainer-backend.js';

/** The onnxruntime-node module, imported lazily (a native dependency). */
export type OnnxRuntime = typeof import('onnxruntime-node');

/** Imports onnxruntime-node and silences its native log below `fatal` (a failed CUDA load prints otherwise). */
export async function loadOnnxRuntime(): Promise<OnnxRuntime> {
  const ort = await import('onnxruntime-node');
  const runtime = ((ort as unknown as { default?: OnnxRuntime }).default ?? ort) as OnnxRuntime;
  runtime.env.logLevel = 'fatal';
  return runtime;
}

/** A backend that creates onnxruntime sessions with the given execution providers. */
export function createOnnxRuntimeBackend(
  name: string,
  executionProviders: readonly string[],
): TrainerBackend {
  return {
    name,
    executionProviders,
    async createSession(
      model: Uint8Array | string,
      options: BackendSessionOptions = {},
    ): Promise<InferenceSession> {
      const ort = await loadOnnxRuntime();
      const sessionOptions: InferenceSession.SessionOptions = {
        executionProviders: [...executionProviders],
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
        ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
        ...(options.extra ? { extra: options.extra } : {}),
        ...(options.memoryPattern === undefined ? {} : { enableMemPattern: options.memoryPattern }),
      };
      return typeof model === 'string'
        ? ort.InferenceSession.create(model, sessionOptions)
        : ort.InferenceSession.create(model, sessionOptions);
    },
  };
}

/** The CPU backend (onnxruntime's `cpu` execution provider). */
export function cpuBackend(): TrainerBackend {
  return createOnnxRuntimeBackend('cpu', ['cpu']);
}

/** The CUDA backend (onnxruntime's `cuda` execution provider; needs the CUDA provider library). */
export function cudaBackend(): TrainerBackend {
  return createOnnxRuntimeBackend('cuda', ['cuda']);
}
