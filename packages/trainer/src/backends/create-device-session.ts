import { TunekitError, tunekitError } from '@tunekit/core';
import type { InferenceSession } from 'onnxruntime-node';
import { cpuBackend, cudaBackend } from './onnxruntime-backend.js';
import type { BackendSessionOptions, Device, TrainerBackend } from './trainer-backend.js';

/** Options of {@link createDeviceSession}. */
export interface DeviceSessionOptions extends BackendSessionOptions {
  device?: Device;
  /** Backends by name (defaults: `cpu`, `cuda`); the kit's `trainerBackend` registrations go here. */
  backends?: Record<string, TrainerBackend>;
  /** Called when `auto` falls back to the CPU (the trainer turns it into a `warning:raised` event). */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/** A session and the device it really runs on. */
export interface DeviceSession {
  session: InferenceSession;
  device: 'cpu' | 'cuda' | (string & {});
  backend: TrainerBackend;
}

/**
 * Creates an onnxruntime session on a device: `cpu` and `cuda` map to their execution providers
 * (a CUDA failure is an error); `auto` tries CUDA, and when its provider does not load falls back
 * to the CPU in the same process and reports a warning.
 */
export async function createDeviceSession(
  model: Uint8Array | string,
  options: DeviceSessionOptions = {},
): Promise<DeviceSession> {
  const backends: Record<string, TrainerBackend> = {
    cpu: cpuBackend(),
    cuda: cudaBackend(),
    ...options.backends,
  };
  const device = options.device ?? 'cpu';
  const open = async (name: string): Promise<DeviceSession> => {
    const backend = backends[name];
    if (!backend) {
      throw tunekitError('BACKEND_NOT_FOUND', `No trainer backend named "${name}"`, {
        device: name,
        available: Object.keys(backends),
      });
    }
    return { session: await backend.createSession(model, options), device: name, backend };
  };
  if (device !== 'auto') {
    try {
      return await open(device);
    } catch (error) {
      if (TunekitError.isInstance(error)) throw error;
      throw tunekitError(
        'BACKEND_UNAVAILABLE',
        `Cannot create an onnxruntime session on ${device}: ${(error as Error).message}`,
        { device },
        { cause: error },
      );
    }
  }
  try {
    return await open('cuda');
  } catch (error) {
    options.onWarning?.('CUDA is not available; training and generation fall back to the CPU', {
      device: 'auto',
      reason: (error as Error).message.split('\n')[0],
    });
    return open('cpu');
  }
}
