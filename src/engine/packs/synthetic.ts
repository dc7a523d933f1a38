/**
 * Seeded random weights with upstream key names, written in upstream layouts (a single safetensors file, or a
 * diffusers-style sharded set with its `*.safetensors.index.json`). Used by the default pack (default-pack.ts)
 * and by tests that build synthetic upstream folders.
 *
 * Bit-identical on every platform: values come from a 32-bit integer generator (mulberry32) and an Irwin–Hall
 * normal (a sum of uniforms), i.e. only +, × and a correctly rounded sqrt — no log/sin whose last bit may
 * differ between JS engines. Each tensor is seeded from its key, so adding a tensor changes no other tensor.
 */
import { namedParams, type Param } from "../ops/param.js";
import { type SafetensorsDType, writeSafetensors } from "../weights/safetensors.js";

/** mulberry32: a 32-bit state generator returning uniforms in [0, 1). */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, mixed with `seed`. */
export function keySeed(key: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const SQRT3 = Math.sqrt(3);

/** Approximately N(0, 1): Irwin–Hall with 4 uniforms, rescaled to unit variance (|x| ≤ 2√3). */
export function fillNormal(out: Float32Array, rand: () => number, scale = 1, shift = 0): Float32Array {
  for (let i = 0; i < out.length; i++)
    out[i] = shift + scale * SQRT3 * (rand() + rand() + rand() + rand() - 2);
  return out;
}

/**
 * Values for one parameter: its `init` when it has one (sinusoidal tables, position ids, masks), else
 * rank ≥ 2: N(0, 1/fan_in); rank ≤ 1 "…weight" (norm scales): 1 + 0.1·N; other rank ≤ 1: 0.1·N.
 */
export function randomValues(key: string, p: Param, seed: number): Float32Array | Int32Array {
  if (p.init) return p.init();
  if (p.dtype !== "float32") return new Int32Array(p.size);
  const rand = seededUniform(keySeed(key, seed));
  const out = new Float32Array(p.size);
  if (p.shape.length >= 2) {
    const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
    return fillNormal(out, rand, 1 / Math.sqrt(Math.max(1, fanIn)));
  }
  return key.endsWith("weight") ? fillNormal(out, rand, 0.1, 1) : fillNormal(out, rand, 0.1);
}

export interface RawTensor {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: Uint8Array;
}

function raw(v: Float32Array | Int32Array, p: Param): RawTensor {
  if (v instanceof Float32Array)
    return { dtype: "F32", shape: p.shape, data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
  if (p.dtype === "int64") {
    const b = new BigInt64Array(v.length);
    for (let i = 0; i < v.length; i++) b[i] = BigInt(v[i]);
    return { dtype: "I64", shape: p.shape, data: new Uint8Array(b.buffer) };
  }
  return { dtype: "I32", shape: p.shape, data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
}

/** A full random state dict for `module` (keys filtered by `keep`), as raw F32/I64/I32 tensors. */
export function syntheticStateDict(
  module: object,
  seed: number,
  keep: (key: string) => boolean = () => true,
): Record<string, RawTensor> {
  const out: Record<string, RawTensor> = {};
  for (const [key, p] of namedParams(module)) {
    if (!keep(key)) continue;
    out[key] = raw(randomValues(key, p, seed), p);
  }
  return out;
}

/** One safetensors file (keys sorted, as `writeSafetensors` writes them). */
export function safetensorsFile(sd: Record<string, RawTensor>): Uint8Array {
  return writeSafetensors(sd, { format: "pt" });
}

/**
 * A sharded checkpoint as transformers/diffusers save it: `<stem>-0000i-of-0000n.safetensors` shards and
 * `<stem>.safetensors.index.json` with `metadata.total_size` and a `weight_map`.
 */
export function shardedSafetensors(
  sd: Record<string, RawTensor>,
  stem: string,
  shards: number,
): Record<string, Uint8Array> {
  const keys = Object.keys(sd).sort();
  const per = Math.ceil(keys.length / shards);
  const files: Record<string, Uint8Array> = {};
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let i = 0; i < shards; i++) {
    const name = `${stem}-${String(i + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
    const part: Record<string, RawTensor> = {};
    for (const k of keys.slice(i * per, (i + 1) * per)) {
      part[k] = sd[k];
      weightMap[k] = name;
      total += sd[k].data.length;
    }
    files[name] = safetensorsFile(part);
  }
  files[`${stem}.safetensors.index.json`] = new TextEncoder().encode(
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2),
  );
  return files;
}
