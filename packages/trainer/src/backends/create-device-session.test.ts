import { TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createDeviceSession } from './create-device-session.js';

/** A one-node ONNX model (Y = X + X) written by hand with onnx-proto. */
async function addModel(): Promise<Uint8Array> {
  const { onnx } = await import('onnx-proto');
  const tensorType = { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 2 }] } };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'add',
      node: [{ opType: 'Add', input: ['X', 'X'], output: ['Y'] }],
      input: [{ name: 'X', type: { tensorType } }],
      output: [{ name: 'Y', type: { tensorType } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('createDeviceSession', () => {
  it('runs on the CPU with a thread count', async () => {
    const { session, device } = await createDeviceSession(await addModel(), { device: 'cpu', threads: 1 });
    const ort = await import('onnxruntime-node');
    const output = await session.run({ X: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]) });
    expect([...(output.Y as { data: Float32Array }).data]).toEqual([2, 4]);
    expect(device).toBe('cpu');
    await session.release();
  });

  it('auto falls back to the CPU with a warning when CUDA does not load', async () => {
    const warnings: string[] = [];
    const { device, session } = await createDeviceSession(await addModel(), {
      device: 'auto',
      onWarning: (message) => warnings.push(message),
      backends: {
        cuda: {
          name: 'cuda',
          executionProviders: ['cuda'],
          createSession: () => Promise.reject(new Error('Failed to load shared library')),
        },
      },
    });
    expect(device).toBe('cpu');
    expect(warnings[0]).toMatch(/fall back to the CPU/);
    await session.release();
  });

  it('auto falls back from the real CUDA provider on a machine without it', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const { device, session } = await createDeviceSession(await addModel(), {
      device: 'auto',
      onWarning: (_message, details) => warnings.push(details),
    });
    // On a CUDA machine this picks CUDA and warns nothing; on CPU-only installs it falls back.
    expect(device === 'cuda' ? warnings.length === 0 : warnings.length === 1 && device === 'cpu').toBe(true);
    await session.release();
  });

  it('reports a coded error when an explicit device cannot be used', async () => {
    const error = await createDeviceSession(await addModel(), {
      device: 'cuda',
      backends: {
        cuda: {
          name: 'cuda',
          executionProviders: ['cuda'],
          createSession: () => Promise.reject(new Error('Failed to load shared library')),
        },
      },
    }).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('BACKEND_UNAVAILABLE');
  });
});
