import { tunekitError } from '@tunekit/core';
import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';
import { createNormalSampler } from '../models/create-normal-sampler.js';
import type { FloatTensor, TensorMap } from '../safetensors/tensor-map.js';
import { type LoraTargeting, loraModuleSettings } from './lora-module-settings.js';
import type { LoraTargetModule } from './lora-weights.js';
import { loraTensorNames } from './peft-names.js';

/** The initialisations that start from the base weights (PEFT `init_lora_weights`). */
export type BaseWeightInitialization = 'pissa' | 'olora' | `pissa_niter_${number}`;

/** Whether an `initLoraWeights` value starts the adapters from the base weights (PiSSA, OLoRA). */
export function isBaseWeightInitialization(value: unknown): value is BaseWeightInitialization {
  return (
    value === 'pissa' ||
    value === 'olora' ||
    (typeof value === 'string' && /^pissa_niter_[1-9][0-9]*$/.test(value))
  );
}

/** What {@link initializeFromBaseWeights} returns. */
export interface BaseWeightAdapters {
  /** `lora_A`/`lora_B` of every module (PEFT names), float32. */
  adapters: TensorMap;
  /** The base weights with each adapted weight replaced by its residual `W − scaling·B·A`. */
  weights: TensorMap;
}

/** A row-major `[rows, columns]` tensor as an ml-matrix (float64). */
function toMatrix(data: Float32Array, rows: number, columns: number): Matrix {
  const matrix = new Matrix(rows, columns);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1)
      matrix.set(row, column, data[row * columns + column] as number);
  }
  return matrix;
}

function toFloat32(matrix: Matrix): Float32Array {
  const data = new Float32Array(matrix.rows * matrix.columns);
  for (let row = 0; row < matrix.rows; row += 1) {
    for (let column = 0; column < matrix.columns; column += 1)
      data[row * matrix.columns + column] = matrix.get(row, column);
  }
  return data;
}

/**
 * The reduced QR decomposition `W = Q·R` (`Q` `[m, k]` with orthonormal columns, `R` `[k, n]`
 * upper triangular, k = min(m, n)) by Householder reflections, with LAPACK's sign convention
 * (`R[i][i] = −sign(W[i][i])·‖·‖`) as `torch.linalg.qr` computes it. A wide matrix is reduced on its
 * first m columns and the rest is `Qᵀ·W₂`, which is what Householder QR of the whole matrix gives.
 */
export function reducedQr(matrix: Matrix): { q: Matrix; r: Matrix } {
  const { rows, columns } = matrix;
  if (rows >= columns) {
    const qr = new QrDecomposition(matrix);
    return { q: qr.orthogonalMatrix, r: qr.upperTriangularMatrix };
  }
  const qr = new QrDecomposition(matrix.subMatrix(0, rows - 1, 0, rows - 1));
  const q = qr.orthogonalMatrix;
  const rest = q.transpose().mmul(matrix.subMatrix(0, rows - 1, rows, columns - 1));
  const r = new Matrix(rows, columns);
  r.setSubMatrix(qr.upperTriangularMatrix, 0, 0);
  r.setSubMatrix(rest, 0, rows);
  return { q, r };
}

/**
 * The top-`rank` singular triplets `W ≈ U·diag(S)·Vh`: exact (`torch.linalg.svd`), or, with
 * `iterations`, torch's `svd_lowrank(W, q=rank, niter)` (Halko et al.'s randomized range finder with
 * a Gaussian start and `iterations` QR-orthonormalised power iterations, then the SVD of `Qᵀ·W`).
 */
function topSingularTriplets(
  weight: Matrix,
  rank: number,
  iterations: number | undefined,
  normal: () => number,
): { u: Matrix; s: number[]; vh: Matrix } {
  if (iterations === undefined) {
    const svd = new SingularValueDecomposition(weight, { autoTranspose: true });
    return {
      u: svd.leftSingularVectors.subMatrix(0, weight.rows - 1, 0, rank - 1),
      s: svd.diagonal.slice(0, rank),
      vh: svd.rightSingularVectors.subMatrix(0, weight.columns - 1, 0, rank - 1).transpose(),
    };
  }
  const gaussian = new Matrix(weight.columns, rank);
  for (let row = 0; row < weight.columns; row += 1)
    for (let column = 0; column < rank; column += 1) gaussian.set(row, column, normal());
  let basis = reducedQr(weight.mmul(gaussian)).q;
  const transposed = weight.transpose();
  for (let step = 0; step < iterations; step += 1) {
    basis = reducedQr(transposed.mmul(basis)).q;
    basis = reducedQr(weight.mmul(basis)).q;
  }
  const projected = basis.transpose().mmul(weight);
  const svd = new SingularValueDecomposition(projected, { autoTranspose: true });
  return {
    u: basis.mmul(svd.leftSingularVectors.subMatrix(0, projected.rows - 1, 0, rank - 1)),
    s: svd.diagonal.slice(0, rank),
    vh: svd.rightSingularVectors.subMatrix(0, projected.columns - 1, 0, rank - 1).transpose(),
  };
}

/**
 * PEFT's initialisations from the base weights, module by module (each with its own rank and
 * scaling from `rankPattern`/`alphaPattern`/`rsLora`), on the weight as `[out, in]` (GPT-2's Conv1D
 * `[in, out]` is transposed first, as PEFT's `pissa_init` does):
 * - `pissa`: `W = V·S·Uh` (SVD), `A = diag(√(S_r/scaling))·Uh_r`, `B = V_r·diag(√(S_r/scaling))`;
 * - `pissa_niter_K`: the same from a randomized SVD with K power iterations (`svd_lowrank`);
 * - `olora`: `W = Q·R` (QR), `A = R[:r]`, `B = Q[:, :r]` (PEFT's `olora_init`; refused for Conv1D
 *   weights, whose transposed layout PEFT's OLoRA does not handle).
 * The base weight becomes the residual `W − scaling·B·A`, so the model is unchanged at the start.
 * Throws `LORA_CONFIG_UNSUPPORTED` for OLoRA on Conv1D and `VALIDATION_FAILED` for a rank above
 * min(out, in). Singular vectors are determined up to sign; `B·A` and the residual are not.
 */
export function initializeFromBaseWeights(
  config: LoraTargeting & { initLoraWeights: BaseWeightInitialization },
  modules: readonly LoraTargetModule[],
  weights: TensorMap,
  options: { fanInFanOut: boolean; seed?: number },
): BaseWeightAdapters {
  const mode = config.initLoraWeights;
  if (mode === 'olora' && options.fanInFanOut) {
    throw tunekitError(
      'LORA_CONFIG_UNSUPPORTED',
      'init_lora_weights "olora" is not supported for Conv1D weights (GPT-2): PEFT\'s olora_init decomposes the stored [in, out] matrix and gives lora_A the wrong shape',
      { field: 'init_lora_weights', value: mode },
    );
  }
  const iterations = mode.startsWith('pissa_niter_') ? Number(mode.slice('pissa_niter_'.length)) : undefined;
  const normal = createNormalSampler(options.seed ?? 0);
  const adapters: TensorMap = new Map();
  const residual: TensorMap = new Map(weights);
  for (const module of modules) {
    const name = `${module.modulePath}.weight`;
    const base = weights.get(name);
    if (!base) {
      throw tunekitError('MODEL_INVALID', `${mode} initialisation needs the base weight "${name}"`, { name });
    }
    const { r, scaling } = loraModuleSettings(config, module.modulePath);
    const out = module.outFeatures;
    const inputs = module.inFeatures;
    if (r > Math.min(out, inputs)) {
      throw tunekitError(
        'VALIDATION_FAILED',
        `${mode}: rank ${r} of ${module.modulePath} is above min(out, in) = ${Math.min(out, inputs)}`,
        {
          issues: [{ path: 'lora.r', message: `above ${Math.min(out, inputs)} for ${module.modulePath}` }],
        },
      );
    }
    const stored = toMatrix(base.data, base.shape[0] as number, base.shape[1] as number);
    const weight = options.fanInFanOut ? stored.transpose() : stored;
    let a: Matrix;
    let b: Matrix;
    if (mode === 'olora') {
      const { q, r: upper } = reducedQr(weight);
      a = upper.subMatrix(0, r - 1, 0, inputs - 1);
      b = q.subMatrix(0, out - 1, 0, r - 1);
    } else {
      const { u, s, vh } = topSingularTriplets(weight, r, iterations, normal);
      const roots = s.map((value) => Math.sqrt(value / scaling));
      a = Matrix.diag(roots).mmul(vh);
      b = u.mmul(Matrix.diag(roots));
    }
    const updated = weight.clone().sub(b.mmul(a).mul(scaling));
    const names = loraTensorNames(module.modulePath);
    adapters.set(names.a, { shape: [r, inputs], data: toFloat32(a) });
    adapters.set(names.b, { shape: [out, r], data: toFloat32(b) });
    const tensor: FloatTensor = {
      shape: [...base.shape],
      data: toFloat32(options.fanInFanOut ? updated.transpose() : updated),
    };
    residual.set(name, tensor);
  }
  return { adapters, weights: residual };
}
