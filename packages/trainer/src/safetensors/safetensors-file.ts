import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type TunekitError, tunekitError } from '@tunekit/core';
import { fileBackedTensor } from './file-backed-tensor.js';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
} from './float-conversion.js';
import { type FloatTensor, shapeSize, type TensorFileRegion, type TensorMap } from './tensor-map.js';

/**
 * Storage types read and written, all loaded as float32. `I64` is for integer buffers (RoBERTa's
 * `position_ids`): read exactly while the values stay within ±2^24, written back as int64.
 */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I64';

/** One entry of a safetensors header. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  data_offsets: [number, number];
}

/** A parsed header: entries by name plus the optional string metadata. */
export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Absolute file offset of the data section (8 + header length). */
  dataStart: number;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I64: 8 };
/** The largest integer magnitude float32 holds exactly (2^24). */
const EXACT_INTEGER = 2 ** 24;
/** Conversion buffer size for F16/BF16 (bounded extra memory while reading or writing). */
const CHUNK_ELEMENTS = 1 << 20;

function invalid(message: string, details: Record<string, unknown> = {}): TunekitError {
  return tunekitError('SAFETENSORS_INVALID', message, details);
}

/**
 * An open safetensors file: the header is parsed, tensors are read on demand by offset from the file
 * descriptor straight into their Float32Array (F32), so reading never holds the file twice in memory.
 */
export class SafetensorsReader {
  private constructor(
    private readonly handle: Awaited<ReturnType<typeof open>>,
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly identity: TensorFileRegion['identity'],
  ) {}

  /** Opens a file and parses its header. Close it with {@link SafetensorsReader.close}. */
  static async open(path: string): Promise<SafetensorsReader> {
    const handle = await open(path, 'r');
    try {
      const lengthBytes = Buffer.alloc(8);
      await handle.read(lengthBytes, 0, 8, 0);
      const headerLength = Number(lengthBytes.readBigUInt64LE(0));
      const { size, mtimeMs, ino } = await handle.stat();
      if (headerLength <= 0 || 8 + headerLength > size)
        throw invalid(`${path}: bad header length ${headerLength}`);
      const headerBytes = Buffer.alloc(headerLength);
      await handle.read(headerBytes, 0, headerLength, 8);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(headerBytes.toString('utf8')) as Record<string, unknown>;
      } catch (error) {
        throw invalid(`${path}: header is not JSON (${(error as Error).message})`);
      }
      const entries = new Map<string, SafetensorsEntry>();
      let metadata: Record<string, string> = {};
      for (const [name, entry] of Object.entries(parsed)) {
        if (name === '__metadata__') {
          metadata = entry as Record<string, string>;
          continue;
        }
        const candidate = entry as SafetensorsEntry;
        if (!Array.isArray(candidate.shape) || !Array.isArray(candidate.data_offsets)) {
          throw invalid(`${path}: malformed entry "${name}"`, { name });
        }
        entries.set(name, candidate);
      }
      return new SafetensorsReader(
        handle,
        resolve(path),
        { entries, metadata, dataStart: 8 + headerLength },
        { size, mtimeMs, ino },
      );
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Tensor names in header order. */
  get names(): string[] {
    return [...this.header.entries.keys()];
  }

  /** Reads one tensor as float32. */
  async read(name: string): Promise<FloatTensor> {
    const { entry, dtype, count, position } = this.locate(name);
    const data = new Float32Array(count);
    if (dtype === 'F32') {
      await this.readFully(new Uint8Array(data.buffer), position);
    } else if (dtype === 'I64') {
      const integers = new BigInt64Array(count);
      await this.readFully(new Uint8Array(integers.buffer), position);
      for (let index = 0; index < count; index += 1) {
        const value = Number(integers[index]);
        if (Math.abs(value) > EXACT_INTEGER)
          throw invalid(`${this.path}: "${name}" holds ${value}, which float32 cannot hold exactly`, {
            name,
          });
        data[index] = value;
      }
    } else {
      const convert = dtype === 'F16' ? float16ToFloat32 : bfloat16ToFloat32;
      const chunk = new Uint16Array(Math.min(count, CHUNK_ELEMENTS));
      for (let start = 0; start < count; start += chunk.length) {
        const length = Math.min(chunk.length, count - start);
        await this.readFully(new Uint8Array(chunk.buffer, 0, length * 2), position + start * 2);
        for (let index = 0; index < length; index += 1) data[start + index] = convert(chunk[index] as number);
      }
    }
    return { shape: [...entry.shape], data };
  }

  /**
   * One tensor without reading its values when it is stored as F32 and 4-byte aligned: a
   * {@link fileBackedTensor} over its bytes in this file (read on first use of `data`, or mapped
   * by onnxruntime when a graph references it). F16/BF16 tensors are read and converted.
   */
  async readLazily(name: string): Promise<FloatTensor> {
    const { entry, dtype, count, position } = this.locate(name);
    if (dtype !== 'F32' || position % 4 !== 0) return this.read(name);
    return fileBackedTensor(entry.shape, {
      path: this.path,
      offset: position,
      length: count * 4,
      identity: this.identity,
    });
  }

  /** A tensor's header entry, storage type, element count and absolute byte position, checked. */
  private locate(name: string): {
    entry: SafetensorsEntry;
    dtype: SafetensorsDtype;
    count: number;
    position: number;
  } {
    const entry = this.header.entries.get(name);
    if (!entry) throw invalid(`${this.path}: no tensor "${name}"`, { name });
    const dtype = entry.dtype as SafetensorsDtype;
    if (!(dtype in BYTES))
      throw invalid(`${this.path}: unsupported dtype ${entry.dtype} for "${name}"`, { name });
    const count = shapeSize(entry.shape);
    const [begin, end] = entry.data_offsets;
    if (end - begin !== count * BYTES[dtype])
      throw invalid(`${this.path}: "${name}" has a wrong byte length`);
    if (this.header.dataStart + end > this.identity.size)
      throw invalid(`${this.path}: "${name}" lies beyond the end of the file`, { name });
    return { entry, dtype, count, position: this.header.dataStart + begin };
  }

  /** Reads every tensor (or the named ones). */
  async readAll(names: readonly string[] = this.names): Promise<TensorMap> {
    const tensors: TensorMap = new Map();
    for (const name of names) tensors.set(name, await this.read(name));
    return tensors;
  }

  private async readFully(target: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < target.byteLength) {
      const { bytesRead } = await this.handle.read(target, done, target.byteLength - done, position + done);
      if (bytesRead === 0) throw invalid(`${this.path}: unexpected end of file`);
      done += bytesRead;
    }
  }

  /** Closes the file descriptor. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Reads every tensor of a safetensors file as float32 (F32, F16 and BF16 storage). */
export async function readSafetensors(path: string): Promise<TensorMap> {
  const reader = await SafetensorsReader.open(path);
  try {
    return await reader.readAll();
  } finally {
    await reader.close();
  }
}

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** Storage type of the tensors `dtypes` does not name (default F32). */
  dtype?: SafetensorsDtype;
  /** Storage type per tensor name (a checkpoint that mixes F32 buffers with BF16 weights). */
  dtypes?: ReadonlyMap<string, SafetensorsDtype>;
  /** String metadata (`__metadata__`), e.g. `{ format: 'pt' }`. */
  metadata?: Record<string, string>;
}

/** Bytes per element of a storage type. */
export function safetensorsDtypeBytes(dtype: SafetensorsDtype): number {
  return BYTES[dtype];
}

/**
 * Writes tensors to a safetensors file in the given order, streaming them chunk by chunk (F32 data is
 * written from the tensors' own memory; F16/BF16 through a bounded conversion buffer, rounded to
 * nearest even as torch's `.to(torch.float16 | torch.bfloat16)` does). The file is written under a
 * temporary name and renamed over `path`, so a file being replaced is never truncated under a
 * session that maps it (see {@link SafetensorsReader.readLazily}).
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const dtypeOf = (name: string): SafetensorsDtype => options.dtypes?.get(name) ?? options.dtype ?? 'F32';
  const header: Record<string, unknown> = { __metadata__: options.metadata ?? { format: 'pt' } };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (tensor.data.length !== shapeSize(tensor.shape)) {
      throw invalid(`Tensor "${name}" has ${tensor.data.length} values for shape [${tensor.shape}]`, {
        name,
      });
    }
    const dtype = dtypeOf(name);
    if (!Object.hasOwn(BYTES, dtype))
      throw invalid(`Cannot write "${name}" as ${String(dtype)}`, { name, dtype });
    const length = tensor.data.length * BYTES[dtype];
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let headerText = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  // Written under a temporary name and renamed over `path`: a session or a lazily loaded tensor that
  // maps or reads the previous file keeps its (unchanged) inode, and a crash leaves no half-written file.
  const temporary = `${path}.${process.pid}-${Date.now().toString(36)}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.write(prefix);
    await handle.write(headerBytes);
    for (const [name, tensor] of tensors) {
      const dtype = dtypeOf(name);
      if (dtype === 'F32') {
        const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
        for (let start = 0; start < bytes.byteLength; start += CHUNK_ELEMENTS * 4) {
          await handle.write(bytes.subarray(start, Math.min(bytes.byteLength, start + CHUNK_ELEMENTS * 4)));
        }
      } else if (dtype === 'I64') {
        const chunk = new BigInt64Array(Math.min(tensor.data.length, CHUNK_ELEMENTS));
        for (let start = 0; start < tensor.data.length; start += chunk.length) {
          const length = Math.min(chunk.length, tensor.data.length - start);
          for (let index = 0; index < length; index += 1) {
            const value = tensor.data[start + index] as number;
            if (!Number.isInteger(value))
              throw invalid(`Cannot write ${value} of "${name}" as I64`, { name });
            chunk[index] = BigInt(value);
          }
          await handle.write(new Uint8Array(chunk.buffer, 0, length * 8));
        }
      } else {
        const convert = dtype === 'F16' ? float32ToFloat16 : float32ToBfloat16;
        const chunk = new Uint16Array(Math.min(tensor.data.length, CHUNK_ELEMENTS));
        for (let start = 0; start < tensor.data.length; start += chunk.length) {
          const length = Math.min(chunk.length, tensor.data.length - start);
          for (let index = 0; index < length; index += 1)
            chunk[index] = convert(tensor.data[start + index] as number);
          await handle.write(new Uint8Array(chunk.buffer, 0, length * 2));
        }
      }
    }
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}
