/**
 * How each parameter is stored in a pack, and the byte encoders. The rules (docs/pack-format.md):
 *  - integer params keep their class (I64 / I32);
 *  - float params of rank ≤ 1 (biases, norms, scales) are F32 whatever the dtype choice;
 *  - float params of rank ≥ 2 are F32 (fp32) or F16 (fp16; a value that overflows half is an error naming it);
 *  - with q4 (forward-only components), Linear weights become `<key>::q4` (U8 codes) + `<key>::q4scales` (F32),
 *    the MatMulNBits layout the ONNX emitter uses directly, and no float copy.
 */
import { ModelPackError } from "../errors.js";
import { Linear } from "../nn/layers.js";
import { quantizeQ4, toFloat16Bytes } from "../ops/onnx/quant.js";
import { namedParams, type Param } from "../ops/param.js";
import type { HostTensor } from "../weights/checkpoint.js";
import type { StoredDType } from "./schema.js";
import type { PlannedTensor } from "./shards.js";

export type StorageChoice = "fp32" | "fp16";

/** Suffixes of the two tensors that hold a q4 parameter (the same names the emitter gives its initializers). */
export const Q4_CODES = "::q4";
export const Q4_SCALES = "::q4scales";

/** Params the model feeds to `ops.linear`: `Linear` weights, plus keys matching `extra`. */
export function linearWeightKeys(module: object, extra?: RegExp): Set<string> {
  const linear = new Set<Param>();
  const seen = new Set<object>();
  const walk = (node: unknown) => {
    if (node === null || typeof node !== "object" || seen.has(node) || ArrayBuffer.isView(node)) return;
    seen.add(node);
    if (node instanceof Linear) linear.add(node.weight);
    for (const [k, v] of Object.entries(node)) if (!k.startsWith("_")) walk(v);
  };
  walk(module);
  const out = new Set<string>();
  for (const [key, p] of namedParams(module)) if (linear.has(p) || extra?.test(key)) out.add(key);
  return out;
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function toF16(key: string, v: Float32Array): Uint8Array {
  const bytes = toFloat16Bytes(v);
  const half = new Uint16Array(bytes.buffer);
  for (let i = 0; i < half.length; i++) {
    if ((half[i] & 0x7c00) === 0x7c00 && Number.isFinite(v[i])) {
      throw new ModelPackError(
        `tensor "${key}" holds ${v[i]}, which overflows float16; convert this component with --quant fp32`,
        { tensor: key },
      );
    }
  }
  return bytes;
}

function toI64(a: Int32Array): Uint8Array {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
  return new Uint8Array(out.buffer);
}

function asFloat(key: string, v: HostTensor): Float32Array {
  if (!(v instanceof Float32Array))
    throw new ModelPackError(`tensor "${key}" is an integer tensor where floats are expected`, {
      tensor: key,
    });
  return v;
}

export interface PlanOptions {
  storage: StorageChoice;
  /** Store these keys (Linear weights) as q4 blocks of this size; absent: no q4. */
  q4?: { keys: ReadonlySet<string>; blockSize: number };
}

export interface StoragePlan {
  tensors: PlannedTensor[];
  /** q4 parameters: key → the two tensors holding it. */
  q4: Map<string, { codes: string; scales: string; shape: [number, number]; blockSize: number }>;
}

/**
 * Plan how every `[key, Param]` is stored, with producers reading values through `read` (one tensor at a time).
 */
export function planStorage(
  params: readonly (readonly [string, Param])[],
  read: (key: string) => Promise<HostTensor>,
  opts: PlanOptions,
): StoragePlan {
  const tensors: PlannedTensor[] = [];
  const q4 = new Map<string, { codes: string; scales: string; shape: [number, number]; blockSize: number }>();
  for (const [key, p] of params) {
    if (p.dtype !== "float32") {
      const dtype: StoredDType = p.dtype === "int64" ? "I64" : "I32";
      tensors.push({
        key,
        dtype,
        shape: p.shape,
        produce: async () => {
          const v = await read(key);
          const ints = v instanceof Int32Array ? v : Int32Array.from(v);
          return dtype === "I64" ? toI64(ints) : bytesOf(ints);
        },
      });
      continue;
    }
    if (opts.q4?.keys.has(key) && p.shape.length === 2) {
      const [n, k] = p.shape;
      const bs = opts.q4.blockSize;
      const kBlocks = Math.ceil(k / bs);
      // codes and scales come from one quantization; the first producer computes it, the second reuses it
      let pending: Promise<ReturnType<typeof quantizeQ4>> | null = null;
      const packed = () => {
        pending ??= read(key).then((v) => quantizeQ4(asFloat(key, v), n, k, bs));
        return pending;
      };
      const codes = `${key}${Q4_CODES}`;
      const scales = `${key}${Q4_SCALES}`;
      tensors.push({
        key: codes,
        dtype: "U8",
        shape: [n, kBlocks, bs / 2],
        produce: async () => (await packed()).codes,
      });
      tensors.push({
        key: scales,
        dtype: "F32",
        shape: [n * kBlocks],
        produce: async () => {
          const s = (await packed()).scales;
          pending = null; // release the codes
          return bytesOf(s);
        },
      });
      q4.set(key, { codes, scales, shape: [n, k], blockSize: bs });
      continue;
    }
    const half = opts.storage === "fp16" && p.shape.length >= 2;
    tensors.push({
      key,
      dtype: half ? "F16" : "F32",
      shape: p.shape,
      produce: async () => {
        const v = asFloat(key, await read(key));
        return half ? toF16(key, v) : bytesOf(v);
      },
    });
  }
  return { tensors, q4 };
}
