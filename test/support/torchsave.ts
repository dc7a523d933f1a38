/**
 * Test-only writer of torch.save files, byte for byte the way torch and CPython write them, so the reader can be
 * tested without PyTorch:
 *
 * - `pickleDump` follows CPython's `pickle._Pickler` (Lib/pickle.py): protocol 2 (torch's DEFAULT_PROTOCOL) with
 *   GLOBAL/BINPUT, or protocol 4 with framing, STACK_GLOBAL and MEMOIZE; ints as BININT1/BININT2/BININT/LONG1;
 *   memoised strings, tuples, lists, dicts and globals; batches of 1000 for APPENDS/SETITEMS.
 * - Tensors reduce like `Tensor._reduce_ex_internal` to `torch._utils._rebuild_tensor_v2(storage, offset, size,
 *   stride, requires_grad, OrderedDict())`, storages pickle as the persistent id
 *   `('storage', torch.FloatStorage, key, 'cpu', numel)` with keys numbered in first-use order (serialization.py
 *   `_save`), and OrderedDicts as `OrderedDict.__reduce__` does (REDUCE, SETITEMS, then BUILD of `__dict__`).
 * - `zipRecords` writes STORED entries whose data is aligned to 64 bytes by an "FB" extra field, like
 *   PyTorchStreamWriter, optionally in ZIP64 form.
 */
import { type ByteSource, checkRange } from "../../src/engine/weights/source.js";
import { crc32 } from "../../src/engine/weights/zip.js";

export type TorchDType =
  | "float64"
  | "float32"
  | "float16"
  | "bfloat16"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

const STORAGE_CLASS: Record<TorchDType, [string, number]> = {
  float64: ["DoubleStorage", 8],
  float32: ["FloatStorage", 4],
  float16: ["HalfStorage", 2],
  bfloat16: ["BFloat16Storage", 2],
  int64: ["LongStorage", 8],
  int32: ["IntStorage", 4],
  int16: ["ShortStorage", 2],
  int8: ["CharStorage", 1],
  uint8: ["ByteStorage", 1],
  bool: ["BoolStorage", 1],
};

export class Storage {
  constructor(
    readonly dtype: TorchDType,
    readonly bytes: Uint8Array,
    /** Pickle as `torch.storage.UntypedStorage` (numel = bytes), as `_rebuild_tensor_v3` files do. */
    readonly untyped = false,
  ) {}
  get numel(): number {
    return this.untyped ? this.bytes.length : this.bytes.length / STORAGE_CLASS[this.dtype][1];
  }
  static f32(values: ArrayLike<number>): Storage {
    return new Storage("float32", new Uint8Array(Float32Array.from(values).buffer));
  }
  static i64(values: ArrayLike<number>): Storage {
    return new Storage(
      "int64",
      new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer),
    );
  }
}

export class Tensor {
  readonly offset: number;
  readonly stride: number[];
  readonly parameter: boolean;
  constructor(
    readonly storage: Storage,
    readonly shape: number[],
    opts: { offset?: number; stride?: number[]; parameter?: boolean } = {},
  ) {
    this.offset = opts.offset ?? 0;
    this.parameter = opts.parameter ?? false;
    const st: number[] = [];
    let acc = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      st[i] = acc;
      acc *= shape[i];
    }
    this.stride = opts.stride ?? st;
  }
}

export class Tuple {
  constructor(readonly items: SaveValue[]) {}
}
/** Forces BINFLOAT for an integral value. */
export class Float {
  constructor(readonly value: number) {}
}
export class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}
/** A raw `func(*args)` reduction, e.g. a malicious `os.system("…")`. */
export class Reduce {
  constructor(
    readonly fn: Global,
    readonly args: Tuple,
  ) {}
}
export class OrderedDict {
  constructor(
    readonly entries: [string | number, SaveValue][],
    /** Instance `__dict__` (a state_dict's `_metadata`), pickled with BUILD. */
    readonly attrs: OrderedDict | null = null,
  ) {}
}

export type SaveValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Float
  | Tuple
  | Global
  | Reduce
  | OrderedDict
  | Tensor
  | Storage
  | SaveValue[]
  | Map<string | number, SaveValue>;

class Out {
  chunks: number[] = [];
  byte(...b: number[]) {
    for (const x of b) this.chunks.push(x & 0xff);
  }
  u16(v: number) {
    this.byte(v, v >> 8);
  }
  u32(v: number) {
    this.byte(v, v >>> 8, v >>> 16, v >>> 24);
  }
  bytes(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i]);
  }
}

/** CPython `encode_long`: minimal two's-complement little-endian. */
function encodeLong(x: bigint): number[] {
  if (x === 0n) return [];
  const out: number[] = [];
  let v = x;
  for (;;) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
    const sign = out[out.length - 1] & 0x80;
    if ((v === 0n && !sign) || (v === -1n && sign)) break;
  }
  return out;
}

/** Serialise `obj` as CPython's pickler would, with torch's persistent ids for storages. */
export function pickleDump(
  obj: SaveValue,
  proto: 2 | 4 = 2,
  storageKeys = new Map<Storage, string>(),
): Uint8Array {
  const body = new Out();
  const frames: number[][] = [];
  const memo = new Map<unknown, number>();
  const strMemo = new Map<string, number>();
  const globalMemo = new Map<string, number>();
  const commitFrame = (force = false) => {
    if (proto < 4) return;
    if (body.chunks.length >= 65536 || (force && body.chunks.length)) {
      frames.push(body.chunks);
      body.chunks = [];
    }
  };
  const put = (): number => {
    const idx = memo.size + strMemo.size + globalMemo.size;
    if (proto >= 4) body.byte(0x94);
    else if (idx < 256) body.byte(0x71, idx);
    else {
      body.byte(0x72);
      body.u32(idx);
    }
    return idx;
  };
  const get = (idx: number) => {
    if (idx < 256) body.byte(0x68, idx);
    else {
      body.byte(0x6a);
      body.u32(idx);
    }
  };
  const saveStr = (s: string) => {
    const hit = strMemo.get(s);
    if (hit !== undefined) return get(hit);
    const b = new TextEncoder().encode(s);
    if (b.length <= 0xff && proto >= 4) body.byte(0x8c, b.length);
    else {
      body.byte(0x58);
      body.u32(b.length);
    }
    body.bytes(b);
    strMemo.set(s, put());
  };
  const saveGlobal = (module: string, name: string) => {
    const full = `${module}\n${name}`;
    const hit = globalMemo.get(full);
    if (hit !== undefined) return get(hit);
    if (proto >= 4) {
      save(module);
      save(name);
      body.byte(0x93);
    } else body.bytes(new TextEncoder().encode(`c${module}\n${name}\n`));
    globalMemo.set(full, put());
  };
  const saveTuple = (items: SaveValue[], key: unknown) => {
    if (items.length === 0) return body.byte(0x29);
    if (items.length <= 3) {
      for (const it of items) save(it);
      body.byte([0x85, 0x86, 0x87][items.length - 1]);
    } else {
      body.byte(0x28);
      for (const it of items) save(it);
      body.byte(0x74);
    }
    memo.set(key, put());
  };
  const batch = (items: SaveValue[][], one: number, many: number) => {
    for (let i = 0; i < items.length; i += 1000) {
      const chunk = items.slice(i, i + 1000);
      if (chunk.length > 1) body.byte(0x28);
      for (const kv of chunk) for (const x of kv) save(x);
      body.byte(chunk.length > 1 ? many : one);
    }
  };
  const reduce = (mod: string, name: string, args: SaveValue[], key: unknown) => {
    saveGlobal(mod, name);
    saveTuple(args, {});
    body.byte(0x52);
    memo.set(key, put());
  };
  const save = (v: SaveValue): void => {
    commitFrame();
    if (v instanceof Storage) {
      let key = storageKeys.get(v);
      if (key === undefined) {
        key = String(storageKeys.size);
        storageKeys.set(v, key);
      }
      const cls = v.untyped
        ? new Global("torch.storage", "UntypedStorage")
        : new Global("torch", STORAGE_CLASS[v.dtype][0]);
      saveTuple(["storage", cls, key, "cpu", v.numel], {});
      body.byte(0x51);
      return;
    }
    if (v !== null && typeof v === "object" && memo.has(v)) {
      get(memo.get(v)!);
      return;
    }
    if (v === null) body.byte(0x4e);
    else if (typeof v === "boolean") body.byte(v ? 0x88 : 0x89);
    else if (typeof v === "number" && !Number.isInteger(v)) save(new Float(v));
    else if (typeof v === "number" || typeof v === "bigint") {
      const n = BigInt(v);
      if (n >= 0n && n <= 0xffn) body.byte(0x4b, Number(n));
      else if (n >= 0n && n <= 0xffffn) {
        body.byte(0x4d);
        body.u16(Number(n));
      } else if (n >= -0x80000000n && n <= 0x7fffffffn) {
        body.byte(0x4a);
        body.u32(Number(n) >>> 0);
      } else {
        const enc = encodeLong(n);
        body.byte(0x8a, enc.length);
        body.bytes(enc);
      }
    } else if (typeof v === "string") saveStr(v);
    else if (v instanceof Float) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v.value, false);
      body.byte(0x47);
      body.bytes(b);
    } else if (v instanceof Tuple) saveTuple(v.items, v);
    else if (v instanceof Global) saveGlobal(v.module, v.name);
    else if (v instanceof Reduce) {
      save(v.fn);
      save(v.args);
      body.byte(0x52);
      memo.set(v, put());
    } else if (v instanceof Tensor) {
      const hooks = new OrderedDict([]);
      const data: SaveValue[] = [v.storage, v.offset, new Tuple(v.shape), new Tuple(v.stride), false, hooks];
      if (v.parameter) {
        // Parameter.__reduce_ex__: _rebuild_parameter(self.data, requires_grad, OrderedDict()); `.data` is a fresh tensor.
        const plain = new Tensor(v.storage, v.shape, { offset: v.offset, stride: v.stride });
        reduce("torch._utils", "_rebuild_parameter", [plain, true, new OrderedDict([])], v);
      } else reduce("torch._utils", "_rebuild_tensor_v2", data, v);
    } else if (v instanceof OrderedDict) {
      reduce("collections", "OrderedDict", [], v);
      batch(v.entries, 0x73, 0x75);
      if (v.attrs) {
        save(new Map([["_metadata", v.attrs]]));
        body.byte(0x62);
      }
    } else if (Array.isArray(v)) {
      body.byte(0x5d);
      memo.set(v, put());
      batch(
        v.map((x) => [x]),
        0x61,
        0x65,
      );
    } else if (v instanceof Map) {
      body.byte(0x7d);
      memo.set(v, put());
      batch([...v.entries()], 0x73, 0x75);
    }
  };
  save(obj);
  body.byte(0x2e);
  commitFrame(true);
  const out = new Out();
  out.byte(0x80, proto);
  if (proto >= 4) {
    for (const f of frames) {
      if (f.length >= 4) {
        out.byte(0x95);
        out.u32(f.length);
        out.u32(0);
      }
      out.bytes(f);
    }
  } else out.bytes(body.chunks);
  return Uint8Array.from(out.chunks);
}

/** A zip part: real bytes, or a run of zeros that is never materialised (for >4 GiB archives). */
export type Part = Uint8Array | { zeros: number };

export interface ZipOptions {
  zip64?: boolean;
  align?: number;
}

/** STORED zip entries with 64-byte-aligned data (torch's "FB" padding extra field), optionally ZIP64. */
export function zipRecords(records: [string, Part][], opts: ZipOptions = {}): Part[] {
  const align = opts.align ?? 64;
  const parts: Part[] = [];
  const central = new Out();
  let offset = 0;
  const partLen = (p: Part) => (p instanceof Uint8Array ? p.length : p.zeros);
  for (const [name, data] of records) {
    const nameBytes = new TextEncoder().encode(name);
    const size = partLen(data);
    const crc = data instanceof Uint8Array ? crc32(data) : 0;
    const start = offset + 30 + nameBytes.length + 4;
    const pad = (align - (start % align)) % align;
    const h = new Out();
    h.u32(0x04034b50);
    h.u16(opts.zip64 ? 45 : 20);
    h.u16(0x0800);
    h.u16(0);
    h.u16(0);
    h.u16(0x21);
    h.u32(crc);
    h.u32(Math.min(size, 0xffffffff));
    h.u32(Math.min(size, 0xffffffff));
    h.u16(nameBytes.length);
    h.u16(4 + pad);
    h.bytes(nameBytes);
    h.bytes([0x46, 0x42]); // "FB"
    h.u16(pad);
    h.bytes(new Array(pad).fill(0x5a));
    parts.push(Uint8Array.from(h.chunks), data);
    const big = opts.zip64 || size >= 0xffffffff || offset >= 0xffffffff;
    central.u32(0x02014b50);
    central.u16(big ? 45 : 20);
    central.u16(big ? 45 : 20);
    central.u16(0x0800);
    central.u16(0);
    central.u16(0);
    central.u16(0x21);
    central.u32(crc);
    central.u32(big ? 0xffffffff : size);
    central.u32(big ? 0xffffffff : size);
    central.u16(nameBytes.length);
    central.u16(big ? 28 : 0);
    central.u16(0);
    central.u16(0);
    central.u16(0);
    central.u32(0);
    central.u32(big ? 0xffffffff : offset);
    central.bytes(nameBytes);
    if (big) {
      central.u16(1);
      central.u16(24);
      for (const v of [size, size, offset]) {
        central.u32(v % 2 ** 32);
        central.u32(Math.floor(v / 2 ** 32));
      }
    }
    offset += h.chunks.length + size;
  }
  const cd = Uint8Array.from(central.chunks);
  const tail = new Out();
  const n = records.length;
  const big = opts.zip64 || offset >= 0xffffffff;
  if (big) {
    const e64At = offset + cd.length;
    const w64 = (v: number) => {
      tail.u32(v % 2 ** 32);
      tail.u32(Math.floor(v / 2 ** 32));
    };
    tail.u32(0x06064b50);
    w64(44);
    tail.u16(45);
    tail.u16(45);
    tail.u32(0);
    tail.u32(0);
    w64(n);
    w64(n);
    w64(cd.length);
    w64(offset);
    tail.u32(0x07064b50);
    tail.u32(0);
    w64(e64At);
    tail.u32(1);
  }
  tail.u32(0x06054b50);
  tail.u16(0);
  tail.u16(0);
  tail.u16(big ? 0xffff : n);
  tail.u16(big ? 0xffff : n);
  tail.u32(big ? 0xffffffff : cd.length);
  tail.u32(big ? 0xffffffff : offset);
  tail.u16(0);
  parts.push(cd, Uint8Array.from(tail.chunks));
  return parts;
}

export function concatParts(parts: Part[]): Uint8Array {
  const len = parts.reduce((a, p) => a + (p instanceof Uint8Array ? p.length : p.zeros), 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    if (p instanceof Uint8Array) out.set(p, o);
    o += p instanceof Uint8Array ? p.length : p.zeros;
  }
  return out;
}

export interface SaveOptions extends ZipOptions {
  /** The archive's top folder ("archive" for buffers; torch ≥ 1.13 uses the file's stem for paths). */
  archive?: string;
  protocol?: 2 | 4;
  byteorder?: string | null;
  /** Extra records after the storages (e.g. a huge zero-filled padding record to force offsets past 4 GiB). */
  extra?: [string, Part][];
  /** Records placed before the storages. */
  before?: [string, Part][];
}

/** `torch.save(obj, f)` as zip parts. */
export function torchSaveParts(obj: SaveValue, opts: SaveOptions = {}): Part[] {
  const a = opts.archive ?? "archive";
  const keys = new Map<Storage, string>();
  const pkl = pickleDump(obj, opts.protocol ?? 2, keys);
  const records: [string, Part][] = [[`${a}/data.pkl`, pkl]];
  if (opts.byteorder !== null)
    records.push([`${a}/byteorder`, new TextEncoder().encode(opts.byteorder ?? "little")]);
  records.push(...(opts.before ?? []));
  const sorted = [...keys.entries()].sort((x, y) => (x[1] < y[1] ? -1 : 1));
  for (const [s, k] of sorted) records.push([`${a}/data/${k}`, s.bytes]);
  records.push(...(opts.extra ?? []));
  records.push([`${a}/version`, new TextEncoder().encode("3\n")]);
  records.push([
    `${a}/.data/serialization_id`,
    new TextEncoder().encode("1234567890123456789012345678901234567890"),
  ]);
  return zipRecords(records, opts);
}

export function torchSave(obj: SaveValue, opts: SaveOptions = {}): Uint8Array {
  return concatParts(torchSaveParts(obj, opts));
}

/** A `ByteSource` over zip parts; zero runs are synthesised on read, so a "4.3 GB" archive costs nothing. */
export function partsSource(parts: Part[], name = "parts.pth"): ByteSource & { bytesRead: number } {
  const spans: { start: number; part: Part; len: number }[] = [];
  let size = 0;
  for (const p of parts) {
    const len = p instanceof Uint8Array ? p.length : p.zeros;
    spans.push({ start: size, part: p, len });
    size += len;
  }
  const src = {
    name,
    size,
    bytesRead: 0,
    async read(offset: number, length: number): Promise<Uint8Array> {
      checkRange(name, size, offset, length);
      src.bytesRead += length;
      const out = new Uint8Array(length);
      for (const s of spans) {
        const a = Math.max(offset, s.start);
        const b = Math.min(offset + length, s.start + s.len);
        if (a < b && s.part instanceof Uint8Array)
          out.set(s.part.subarray(a - s.start, b - s.start), a - offset);
      }
      return out;
    },
  };
  return src;
}
