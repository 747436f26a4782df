import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SerializedModel, saveSerializedModel } from '../onnx/serialize-model.js';
import {
  createDeviceSession,
  type DeviceSession,
  type DeviceSessionOptions,
} from './create-device-session.js';

/**
 * Opens a session on a serialized graph. Without external data the bytes are given to onnxruntime
 * directly. A model that references checkpoint files (`externalFolder`, lazily loaded weights) is
 * opened from its bytes with onnxruntime's external-initializers folder set to that folder: the
 * checkpoint is mapped where it lies, nothing is written. With external data (graphs whose weights exceed `serializeModelAuto`'s threshold, e.g.
 * {@link TRAINING_EXTERNAL_DATA_THRESHOLD}; onnxruntime refuses embedded models over 2 GB) the model
 * and its data file are written to a temporary folder and opened from its path: onnxruntime maps the
 * data file rather than copying the weights, and the folder is removed once the session exists. Such
 * large graphs also get {@link TRAINING_SESSION_EXTRA} (no pre-packed weight copies) and no memory
 * pattern (`memoryPattern: false`) unless `options` say otherwise: onnxruntime's pattern block
 * comes on top of the arena that the first run grew (measured on smollm2-135m training: peak RSS
 * 2,823 MB with it, 1,980 MB without, micro-batches no slower).
 */
export async function createGraphSession(
  serialized: Pick<SerializedModel, 'model' | 'externalData' | 'externalFolder'>,
  options: DeviceSessionOptions = {},
): Promise<DeviceSession> {
  if (serialized.externalFolder && !serialized.externalData) {
    return createDeviceSession(serialized.model, {
      memoryPattern: false,
      ...options,
      extra: {
        ...TRAINING_SESSION_EXTRA,
        [EXTERNAL_INITIALIZERS_FOLDER]: serialized.externalFolder,
        ...options.extra,
      },
    });
  }
  if (!serialized.externalData) return createDeviceSession(serialized.model, options);
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-graph-'));
  try {
    const path = await saveSerializedModel(
      { model: serialized.model, externalData: serialized.externalData },
      directory,
    );
    return await createDeviceSession(path, {
      memoryPattern: false,
      ...options,
      extra: { ...TRAINING_SESSION_EXTRA, ...options.extra },
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Initializer bytes above which training graphs keep their frozen weights in an external data file
 * (64 MiB): onnxruntime then maps the file instead of copying weights out of the model bytes, and the
 * serialized model stays small (measured on smollm2-135m: session RSS +44 MB instead of +600 MB).
 */
export const TRAINING_EXTERNAL_DATA_THRESHOLD = 64 * 2 ** 20;

/**
 * Session settings of training sessions: onnxruntime's pre-packing of constant Gemm weights keeps a
 * packed copy of every frozen weight (measured on smollm2-135m: +1.1 GB, twice the weights); without
 * it MLAS packs each weight panel per call.
 */
export const TRAINING_SESSION_EXTRA: Readonly<Record<string, string>> = {
  'session.disable_prepacking': '1',
};

/**
 * Session options of every training session, whatever its size (createTrainer and the bench): no
 * memory pattern (onnxruntime's pattern block comes on top of the arena that the first run grew) and
 * no pre-packed weight copies ({@link TRAINING_SESSION_EXTRA}). Measured on `scaling-small` at
 * vocabulary 32,000 with embedded weights: peak RSS 855 MB with onnxruntime's defaults, 585 MB
 * with these, later micro-batches no slower.
 */
export const TRAINING_SESSION_OPTIONS: Readonly<{
  memoryPattern: false;
  extra: Readonly<Record<string, string>>;
}> = { memoryPattern: false, extra: TRAINING_SESSION_EXTRA };

/**
 * onnxruntime's session configuration key naming the folder that external data locations are
 * relative to when a model is loaded from bytes (locations may not leave that folder).
 */
const EXTERNAL_INITIALIZERS_FOLDER = 'session.model_external_initializers_file_folder_path';
