import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../safetensors/safetensors-file.js';
import type { FloatTensor } from '../safetensors/tensor-map.js';
import { initializeFromBaseWeights, reducedQr } from './initialize-from-base-weights.js';
import { resolveLoraConfig } from './lora-config.js';

// PEFT's pissa_init / olora_init computed with PyTorch by tests/golden/pissa_olora.py.
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface GoldenManifest {
  r: number;
  alpha: number;
  cases: Record<string, { shape: [number, number]; fan_in_fan_out: boolean; modes: string[] }>;
}

const matrix = (tensor: FloatTensor) =>
  new Matrix(
    Array.from({ length: tensor.shape[0] as number }, (_, row) =>
      Array.from(
        tensor.data.subarray(row * (tensor.shape[1] as number), (row + 1) * (tensor.shape[1] as number)),
      ),
    ),
  );
const maxAbs = (a: Matrix, b: Matrix) => Math.max(...a.clone().sub(b).abs().to1DArray());

describe('initializeFromBaseWeights against PEFT (PyTorch)', async () => {
  const manifest = JSON.parse(await readFile(`${fixtures}pissa-olora.json`, 'utf8')) as GoldenManifest;
  const golden = await readSafetensors(`${fixtures}pissa-olora.safetensors`);
  const cases = Object.entries(manifest.cases).flatMap(([name, spec]) =>
    spec.modes.map((mode) => ({ name, mode, ...spec })),
  );

  it.each(cases)(
    '$name $mode: B·A and the residual base as PEFT; A and B up to the sign of each component',
    ({ name, mode, shape, fan_in_fan_out: fanInFanOut }) => {
      const weight = golden.get(`${name}.weight`) as FloatTensor;
      const [out, inFeatures] = fanInFanOut ? [shape[1], shape[0]] : shape;
      const config = {
        ...resolveLoraConfig({ r: manifest.r, alpha: manifest.alpha, targetModules: ['m'] }),
        initLoraWeights: mode as 'pissa',
      };
      const result = initializeFromBaseWeights(
        config,
        [{ modulePath: 'm', inFeatures, outFeatures: out }],
        new Map([['m.weight', weight]]),
        {
          fanInFanOut,
        },
      );
      const a = matrix(result.adapters.get('base_model.model.m.lora_A.weight') as FloatTensor);
      const b = matrix(result.adapters.get('base_model.model.m.lora_B.weight') as FloatTensor);
      const expectedA = matrix(golden.get(`${name}.${mode}.lora_A`) as FloatTensor);
      const expectedB = matrix(golden.get(`${name}.${mode}.lora_B`) as FloatTensor);
      expect([a.rows, a.columns, b.rows, b.columns]).toEqual([manifest.r, inFeatures, out, manifest.r]);
      const residual = matrix(result.weights.get('m.weight') as FloatTensor);
      const expectedResidual = matrix(golden.get(`${name}.${mode}.residual`) as FloatTensor);
      if (mode.startsWith('pissa_niter')) {
        // svd_lowrank is randomized (torch's Gaussian start is not ours): both approximate the exact
        // PiSSA product; Tunekit's must be about as close to it as torch's is.
        const exact = matrix(golden.get(`${name}.pissa.lora_B`) as FloatTensor).mmul(
          matrix(golden.get(`${name}.pissa.lora_A`) as FloatTensor),
        );
        const torchError = maxAbs(expectedB.mmul(expectedA), exact);
        const ours = maxAbs(b.mmul(a), exact);
        expect(ours).toBeLessThan(Math.max(5 * torchError, 1e-4));
        expect(ours).toBeLessThan(0.05);
      } else {
        expect(maxAbs(b.mmul(a), expectedB.mmul(expectedA))).toBeLessThan(2e-5);
        expect(maxAbs(residual, expectedResidual)).toBeLessThan(2e-5);
      }
      // The model is unchanged at the start: residual + scaling·B·A is the weight.
      const scaling = manifest.alpha / manifest.r;
      const rebuilt = fanInFanOut
        ? residual.clone().add(b.mmul(a).mul(scaling).transpose())
        : residual.clone().add(b.mmul(a).mul(scaling));
      expect(maxAbs(rebuilt, matrix(weight))).toBeLessThan(1e-5);
      if (!mode.startsWith('pissa_niter')) {
        for (let component = 0; component < manifest.r; component += 1) {
          const sign = Math.sign(a.get(component, 0)) === Math.sign(expectedA.get(component, 0)) ? 1 : -1;
          expect(maxAbs(a.getRowVector(component).mul(sign), expectedA.getRowVector(component))).toBeLessThan(
            2e-5,
          );
          expect(
            maxAbs(b.getColumnVector(component).mul(sign), expectedB.getColumnVector(component)),
          ).toBeLessThan(2e-5);
        }
      }
    },
  );

  it("QR keeps LAPACK's signs (R[i][i] = −sign(W[i][i])·‖·‖), as torch.linalg.qr, also for a wide matrix", () => {
    const wide = golden.get('wide.weight') as FloatTensor;
    const { q, r } = reducedQr(matrix(wide));
    expect(maxAbs(q.mmul(r), matrix(wide))).toBeLessThan(1e-6);
    expect(maxAbs(q.transpose().mmul(q), Matrix.eye(q.columns))).toBeLessThan(1e-10);
    const expectedA = matrix(golden.get('wide.olora.lora_A') as FloatTensor);
    expect(maxAbs(r.subMatrix(0, manifest.r - 1, 0, r.columns - 1), expectedA)).toBeLessThan(2e-5);
  });

  it('refuses OLoRA on Conv1D weights (PEFT gives lora_A the wrong shape there) and a rank above min(out, in)', () => {
    const weight = golden.get('conv1d.weight') as FloatTensor;
    const module = [{ modulePath: 'm', inFeatures: 8, outFeatures: 12 }];
    const config = resolveLoraConfig({ r: 3, alpha: 6, targetModules: ['m'] });
    expect(() =>
      initializeFromBaseWeights(
        { ...config, initLoraWeights: 'olora' },
        module,
        new Map([['m.weight', weight]]),
        {
          fanInFanOut: true,
        },
      ),
    ).toThrow(expect.objectContaining({ code: 'LORA_CONFIG_UNSUPPORTED' }));
    expect(() =>
      initializeFromBaseWeights(
        { ...config, r: 9, initLoraWeights: 'pissa' },
        module,
        new Map([['m.weight', weight]]),
        {
          fanInFanOut: true,
        },
      ),
    ).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
