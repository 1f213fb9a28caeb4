/**
 * safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, and optional
 * "__metadata__": {string: string}}), then the raw little-endian tensor bytes. Python users can
 * open our checkpoints with `safetensors.torch.load_file`.
 */
import { readFileSync } from 'node:fs';
import { DataError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import type { DType } from './native.ts';
import { type Tensor, tensor } from './tensor.ts';

const TO_ST: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  bool: 'BOOL',
  uint8: 'U8',
  int32: 'I32',
};
const FROM_ST: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F64: { dtype: 'float64', bytes: 8 },
  I64: { dtype: 'int64', bytes: 8 },
  BOOL: { dtype: 'bool', bytes: 1 },
  U8: { dtype: 'uint8', bytes: 1 },
  I32: { dtype: 'int32', bytes: 4 },
};

/** Serializes named tensors (in key order) to safetensors bytes. */
export function encodeSafetensors(
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const arr = t.toArray();
    const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data starts 8-byte aligned, as the reference writer does
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...chunks]);
}

/** Parses safetensors bytes; `source` names the file in error messages. */
export function decodeSafetensors(
  buf: Uint8Array,
  source = 'safetensors data',
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new DataError(`not a valid safetensors file: ${why}`, source);
  };
  if (buf.length < 8) fail(`only ${buf.length} bytes`);
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.readBigUInt64LE(0));
  if (n > buf.length - 8) fail(`header length ${n} exceeds the file size ${buf.length} (truncated?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(view.subarray(8, 8 + n).toString('utf8'));
  } catch {
    return fail('the JSON header does not parse');
  }
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const { dtype, shape, data_offsets } = entry as {
        dtype: string;
        shape: number[];
        data_offsets: [number, number];
      };
      const kind = FROM_ST[dtype] ?? fail(`tensor '${name}' has unsupported dtype ${dtype}`);
      if (!Array.isArray(shape) || !Array.isArray(data_offsets))
        fail(`tensor '${name}' lacks shape or data_offsets`);
      const [begin, end] = data_offsets;
      const numel = shape.reduce((a, b) => a * b, 1);
      if (end - begin !== numel * kind.bytes)
        fail(`tensor '${name}' has ${end - begin} bytes for shape [${shape}]`);
      if (begin < 0 || end > dataLen) fail(`tensor '${name}' lies outside the data (truncated?)`);
      // copy to an aligned buffer of the right element type
      const bytes = new Uint8Array(end - begin);
      bytes.set(buf.subarray(dataStart + begin, dataStart + end));
      const arr =
        kind.dtype === 'float32'
          ? new Float32Array(bytes.buffer)
          : kind.dtype === 'float64'
            ? new Float64Array(bytes.buffer)
            : kind.dtype === 'int64'
              ? new BigInt64Array(bytes.buffer)
              : kind.dtype === 'int32'
                ? new Int32Array(bytes.buffer)
                : bytes;
      tensors[name] = tensor(arr, { shape, dtype: kind.dtype });
    }
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return { tensors, metadata };
}

export { writeFileAtomic };

/**
 * Saves named tensors to a safetensors file, atomically: a failed write (full disk, ...) leaves
 * the previous file as it was and throws a FileSystemError naming `operation` and the path.
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
  operation = 'write',
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), operation);
}

/** Loads a safetensors file; a missing, truncated or corrupt file gives a DataError naming it. */
export function loadSafetensors(path: string): {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
} {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new DataError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, path);
  }
  return decodeSafetensors(buf, path);
}
