/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the data buffer.
 * Offsets are relative to the start of the data buffer. https://github.com/huggingface/safetensors
 *
 * The header is validated completely before any tensor is read (bounds, overlap, sizes, dtypes), so a
 * truncated or tampered file fails with a `ModelPackError` naming the file and the tensor.
 */
import { describeValue, ModelPackError } from "../errors.js";

export type SafetensorsDType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** Bytes per element of each stored dtype (shared by the torch reader and the pack writer). */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

/** Header size limit: real checkpoints have headers of a few hundred KiB; 100 MiB is the upstream cap. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range within the data buffer (relative to its start). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Absolute byte offset of the data buffer in the file (8 + header length). */
  dataOffset: number;
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

function fail(file: string, msg: string, details: Record<string, string | number> = {}): never {
  throw new ModelPackError(`${file}: ${msg}`, { file, ...details });
}

/** Read the header length from the first 8 bytes. */
export function headerLength(first8: Uint8Array, file = "safetensors file"): number {
  if (first8.length < 8) fail(file, "file is shorter than the 8-byte safetensors header length (truncated?)");
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n === 0) fail(file, "header length is 0");
  if (n > MAX_HEADER_BYTES) fail(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  return n;
}

/**
 * Parse and validate a header. `headerBytes` are the N JSON bytes; `fileSize`, when known, is checked against
 * the data extent (a truncated file is rejected here, before reading anything).
 */
export function parseHeader(
  headerBytes: Uint8Array,
  fileSize: number | null,
  file = "safetensors file",
): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes).trimEnd());
  } catch (e) {
    fail(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    fail(file, "header is not a JSON object");
  const dataOffset = 8 + headerBytes.length;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw))
        fail(file, "__metadata__ is not an object");
      for (const v of Object.values(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(file, "__metadata__ values must be strings");
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (raw === null || typeof raw !== "object")
      fail(file, `entry "${name}" is not an object`, { tensor: name });
    const { dtype, shape, data_offsets } = raw as {
      dtype?: unknown;
      shape?: unknown;
      data_offsets?: unknown;
    };
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype))
      fail(file, `tensor "${name}" has unsupported dtype ${describeValue(dtype)}`, { tensor: name });
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(file, `tensor "${name}" has an invalid shape`, { tensor: name });
    }
    if (
      !Array.isArray(data_offsets) ||
      data_offsets.length !== 2 ||
      !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      data_offsets[1] < data_offsets[0]
    ) {
      fail(file, `tensor "${name}" has invalid data_offsets`, { tensor: name });
    }
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    const bytes = size * DTYPE_BYTES[dtype as SafetensorsDType];
    const [begin, end] = data_offsets as [number, number];
    if (end - begin !== bytes) {
      fail(
        file,
        `tensor "${name}" spans ${end - begin} bytes but dtype ${dtype} shape [${shape}] needs ${bytes}`,
        {
          tensor: name,
        },
      );
    }
    entries.set(name, { name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end });
  }
  // Tensors must tile the data buffer exactly: no overlaps, no holes (as the reference implementation requires).
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor)
      fail(file, `tensor "${e.name}" starts at ${e.begin}, expected ${cursor} (overlap or gap)`, {
        tensor: e.name,
      });
    cursor = e.end;
  }
  if (fileSize !== null) {
    const need = dataOffset + cursor;
    if (fileSize < need)
      fail(file, `file has ${fileSize} bytes but its header describes ${need} (truncated download?)`);
    if (fileSize > need) fail(file, `file has ${fileSize - need} unexpected trailing bytes`);
  }
  return { dataOffset, entries, metadata };
}

/** Parse a whole in-memory safetensors file. */
export function parseSafetensors(bytes: Uint8Array, file = "safetensors file"): SafetensorsHeader {
  const n = headerLength(bytes.subarray(0, 8), file);
  if (bytes.length < 8 + n)
    fail(file, `file has ${bytes.length} bytes, shorter than its ${n}-byte header (truncated?)`);
  return parseHeader(bytes.subarray(8, 8 + n), bytes.length, file);
}

const f16Table = (() => {
  // Exact half → float conversion for all 65536 bit patterns.
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) t[h] = m ? Number.NaN : s * Number.POSITIVE_INFINITY;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A fresh, aligned copy of a byte range (so typed-array views of it are valid and own their memory). */
function copyBytes(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(raw.length);
  out.set(raw);
  return out;
}

/** Convert raw little-endian tensor bytes to host numbers: floats → Float32Array, integers/bool → Int32Array. */
export function decodeTensor(
  e: SafetensorsEntry,
  raw: Uint8Array,
  file = "safetensors file",
): Float32Array | Int32Array {
  if (raw.length !== e.end - e.begin)
    fail(file, `tensor "${e.name}" read ${raw.length} bytes, expected ${e.end - e.begin}`, {
      tensor: e.name,
    });
  const n = e.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (e.dtype) {
    case "F32": {
      if (LITTLE_ENDIAN) return new Float32Array(copyBytes(raw).buffer);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16Table[dv.getUint16(i * 2, true)];
      return out;
    }
    case "BF16": {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case "I64": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          fail(file, `tensor "${e.name}" holds int64 value ${v} outside the int32 range`, { tensor: e.name });
        }
        out[i] = Number(v);
      }
      return out;
    }
    case "I32": {
      if (LITTLE_ENDIAN) return new Int32Array(copyBytes(raw).buffer);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case "I16": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    }
    case "I8": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case "U8":
    case "BOOL": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = raw[i];
      return out;
    }
  }
}

/** A fully in-memory safetensors file with typed access by name. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  constructor(
    readonly bytes: Uint8Array,
    readonly file = "safetensors file",
  ) {
    this.header = parseSafetensors(bytes, file);
  }
  keys(): string[] {
    return [...this.header.entries.keys()];
  }
  has(name: string): boolean {
    return this.header.entries.has(name);
  }
  entry(name: string): SafetensorsEntry {
    const e = this.header.entries.get(name);
    if (!e) fail(this.file, `has no tensor "${name}"`, { tensor: name });
    return e;
  }
  raw(name: string): Uint8Array {
    const e = this.entry(name);
    const o = this.header.dataOffset;
    return this.bytes.subarray(o + e.begin, o + e.end);
  }
  get(name: string): Float32Array | Int32Array {
    return decodeTensor(this.entry(name), this.raw(name), this.file);
  }
  /** Typed float access (throws if the tensor is an integer tensor). */
  float(name: string): Float32Array {
    const v = this.get(name);
    if (!(v instanceof Float32Array))
      fail(this.file, `tensor "${name}" is ${this.entry(name).dtype}, not a float tensor`, { tensor: name });
    return v;
  }
  shape(name: string): number[] {
    return [...this.entry(name).shape];
  }
}

/** Serialise tensors to safetensors bytes (F32 / I64 / U8 …). Deterministic: keys are written sorted. */
export function writeSafetensors(
  tensors: Record<string, { dtype: SafetensorsDType; shape: readonly number[]; data: Uint8Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const n of names) {
    const t = tensors[n];
    const need = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.length !== need) throw new RangeError(`tensor ${n}: ${t.data.length} bytes, expected ${need}`);
    header[n] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [off, off + need] };
    off += need;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8; // align the data buffer to 8 bytes, padding with spaces
  if (pad) {
    const p = new Uint8Array(json.length + pad).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let cur = 8 + json.length;
  for (const n of names) {
    out.set(tensors[n].data, cur);
    cur += tensors[n].data.length;
  }
  return out;
}

/** Bytes of a Float32Array/Int32Array view, for `writeSafetensors`. */
export function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
