/**
 * Safe reader for PyTorch `.pth`/`.pt`/`.bin` files written by torch.save (the zip format, torch ≥ 1.6):
 *
 *   <archive>/data.pkl        the pickled object (a state dict, or a dict around one)
 *   <archive>/byteorder       "little" (absent in older files: little-endian is assumed)
 *   <archive>/data/<key>      one uncompressed entry per storage, raw little-endian elements
 *   <archive>/version, <archive>/.data/…
 *
 * `data.pkl` runs on the restricted VM (`pickle.ts`) with the torch allow-list (`torch-pickle.ts`), so opening a
 * file executes nothing and reads only the zip directory and the pickle. Tensors are then read one at a time
 * from their storage entries (a 4.5 GB imagebind_huge.pth is never in memory at once); strided views are
 * materialised contiguous and shared storages are simply read once per view.
 */
import { ModelPackError } from "../errors.js";
import {
  type Checkpoint,
  type CheckpointTensorSpec,
  type HostTensor,
  hostDType,
  noSuchTensor,
} from "./checkpoint.js";
import { unpickle } from "./pickle.js";
import { PyDict, PyList, PyTuple, type PyValue } from "./pickle-types.js";
import { decodeTensor } from "./safetensors.js";
import type { ByteSource } from "./source.js";
import {
  ELEMENT_BYTES,
  makePersistentLoad,
  type StorageRef,
  TensorRef,
  TORCH_GLOBALS,
} from "./torch-pickle.js";
import { ZipArchive } from "./zip.js";

/** `data.pkl` of a state dict is a few hundred KiB even for ImageBind-huge. */
export const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
/** Dict/list nesting deeper than this is not a checkpoint (and may be a cycle). */
const MAX_DEPTH = 100;
/** Elements of one materialised tensor (typed arrays past 2^31 are not portable). */
const MAX_NUMEL = 2 ** 31 - 1;
/** A broadcast view (stride 0) may hold more elements than its storage only up to this count (4 MiB of floats), so
 * a few bytes of pickle can never make us allocate gigabytes. */
export const MAX_EXPANDED_NUMEL = 2 ** 20;

export interface TorchOpenOptions {
  /** Check the CRC-32 of each storage read as a whole (default true). */
  verifyChecksums?: boolean;
}

export interface TorchCheckpoint extends Checkpoint {
  readonly format: "torch";
  /** The unpickled object (dicts, lists, tensor references): for the non-tensor entries a checkpoint may hold. */
  readonly root: PyValue;
  readonly archive: ZipArchive;
  /** The archive's top folder, e.g. "archive/". */
  readonly prefix: string;
}

interface Plan {
  t: TensorRef;
  entry: string;
  numel: number;
  /** First element read (in units of the tensor dtype) and how many. */
  spanStart: number;
  spanLen: number;
  contiguous: boolean;
}

function fail(file: string, msg: string, details: Record<string, string | number> = {}): never {
  throw new ModelPackError(`${file}: ${msg}`, { file, ...details });
}

function findPrefix(zip: ZipArchive, file: string): string {
  const names = [...zip.entries.keys()];
  const pkl = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length === 1) return pkl[0].slice(0, -"data.pkl".length);
  if (pkl.length > 1)
    fail(file, `archive holds several pickles (${pkl.join(", ")}); expected one torch.save record`);
  if (names.some((n) => /(^|\/)(code\/|constants\.pkl$)/.test(n))) {
    fail(
      file,
      "is a TorchScript archive (torch.jit.save), not a torch.save state dict; save `model.state_dict()` instead",
    );
  }
  return fail(file, "is a ZIP file but not a torch.save archive (no <folder>/data.pkl)");
}

/** Flatten nested dicts/lists into dotted keys → tensors, in insertion order. Non-tensor leaves are skipped. */
function flatten(root: PyValue, file: string, budget: number): Map<string, TensorRef> {
  const out = new Map<string, TensorRef>();
  const visit = (v: PyValue, path: string, depth: number) => {
    if (--budget < 0) fail(file, "pickle expands into too many objects (shared-reference bomb?)");
    if (depth > MAX_DEPTH) fail(file, `objects nest deeper than ${MAX_DEPTH} levels (cyclic?)`);
    if (v instanceof TensorRef) {
      if (out.has(path))
        fail(file, `key "${path}" appears twice after flattening nested dicts`, { tensor: path });
      out.set(path, v);
    } else if (v instanceof PyDict) {
      for (const [k, child] of v.map) {
        if (typeof k !== "string" && typeof k !== "number") continue;
        visit(child, path ? `${path}.${k}` : String(k), depth + 1);
      }
    } else if (v instanceof PyList || v instanceof PyTuple) {
      v.items.forEach((child, i) => {
        visit(child, path ? `${path}.${i}` : String(i), depth + 1);
      });
    }
  };
  visit(root, "", 0);
  return out;
}

function plan(file: string, key: string, t: TensorRef, prefix: string, zip: ZipArchive): Plan {
  const bad = (msg: string): never => fail(file, `tensor "${key}": ${msg}`, { tensor: key });
  const s: StorageRef = t.storage;
  const entry = `${prefix}data/${s.key}`;
  const e = zip.entries.get(entry);
  if (!e) bad(`its storage "${entry}" is missing from the archive`);
  const storageBytes = s.numel * ELEMENT_BYTES[s.dtype];
  if (e!.size !== storageBytes) {
    bad(
      `storage "${entry}" has ${e!.size} bytes but the pickle declares ${s.numel} × ${s.dtype} (${storageBytes})`,
    );
  }
  const es = ELEMENT_BYTES[t.dtype];
  let numel = 1;
  for (const d of t.shape) {
    numel *= d;
    if (numel > MAX_NUMEL) bad(`shape [${t.shape}] is too large to load`);
  }
  if (numel === 0) return { t, entry, numel, spanStart: 0, spanLen: 0, contiguous: true };
  let last = 0;
  let contiguous = true;
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    last += (t.shape[i] - 1) * t.stride[i];
    if (!Number.isSafeInteger(last)) bad("strides overflow");
    if (t.shape[i] !== 1 && t.stride[i] !== expect) contiguous = false;
    expect *= t.shape[i];
  }
  const spanLen = last + 1;
  if ((t.offset + spanLen) * es > storageBytes) {
    bad(
      `view (offset ${t.offset}, size [${t.shape}], stride [${t.stride}]) reaches past its ${storageBytes}-byte storage`,
    );
  }
  if (numel > spanLen && numel > MAX_EXPANDED_NUMEL)
    bad(`broadcast view of ${numel} elements is too large to materialise`);
  return { t, entry, numel, spanStart: t.offset, spanLen, contiguous };
}

/** Copy a strided view (relative to the start of `src`) into a new contiguous array. */
function gather(
  src: HostTensor,
  shape: readonly number[],
  stride: readonly number[],
  numel: number,
): HostTensor {
  const out = src instanceof Float32Array ? new Float32Array(numel) : new Int32Array(numel);
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[0];
    return out;
  }
  const n = shape[nd - 1];
  const st = stride[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let base = 0;
  for (let o = 0; o < numel; o += n) {
    for (let j = 0; j < n; j++) out[o + j] = src[base + j * st];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      base += stride[d];
      if (idx[d] < shape[d]) break;
      base -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Open a torch.save zip: reads the directory and `data.pkl` only. */
export async function openTorchCheckpoint(
  source: ByteSource,
  opts: TorchOpenOptions = {},
): Promise<TorchCheckpoint> {
  const file = source.name;
  const verify = opts.verifyChecksums ?? true;
  const zip = await ZipArchive.open(source);
  const prefix = findPrefix(zip, file);
  const bo = zip.entries.get(`${prefix}byteorder`);
  if (bo) {
    const order = bo.size <= 16 ? new TextDecoder().decode(await zip.read(bo.name)).trim() : "?";
    if (order !== "little")
      fail(file, `was saved on a "${order}"-endian machine; only little-endian checkpoints are supported`);
  }
  const pklEntry = zip.entry(`${prefix}data.pkl`);
  if (pklEntry.size > MAX_PICKLE_BYTES)
    fail(file, `data.pkl is ${pklEntry.size} bytes, over the ${MAX_PICKLE_BYTES}-byte limit`);
  const pkl = await zip.read(pklEntry.name);
  const storages = new Map<string, StorageRef>();
  const { value: root } = unpickle(pkl, {
    globals: TORCH_GLOBALS,
    persistentLoad: makePersistentLoad(storages),
    file: `${file} (${pklEntry.name})`,
  });
  const plans = new Map<string, Plan>();
  for (const [key, t] of flatten(root, file, 4 * pkl.length + 1024))
    plans.set(key, plan(file, key, t, prefix, zip));

  const get = (key: string): Plan => {
    const p = plans.get(key);
    if (!p) throw noSuchTensor(file, key);
    return p;
  };
  return {
    name: file,
    format: "torch",
    root,
    archive: zip,
    prefix,
    keys: () => [...plans.keys()],
    has: (key) => plans.has(key),
    spec(key): CheckpointTensorSpec {
      const p = get(key);
      return {
        shape: [...p.t.shape],
        dtype: hostDType(p.t.dtype),
        stored: p.t.dtype,
        byteLength: p.spanLen * ELEMENT_BYTES[p.t.dtype],
      };
    },
    async read(key): Promise<HostTensor> {
      const p = get(key);
      const { t } = p;
      if (p.numel === 0) return hostDType(t.dtype) === "float32" ? new Float32Array(0) : new Int32Array(0);
      const es = ELEMENT_BYTES[t.dtype];
      const raw = await zip.read(p.entry, p.spanStart * es, p.spanLen * es, verify);
      const span = decodeTensor(
        { name: key, dtype: t.dtype, shape: [p.spanLen], begin: 0, end: raw.length },
        raw,
        file,
      );
      return p.contiguous ? span : gather(span, t.shape, t.stride, p.numel);
    },
  };
}
