/**
 * Parameter utilities for training our own model classes (one definition: the engine's models, trained through
 * `TfjsOps({ trainable: true })`): deterministic initialisation, unique tf.Variable names, state dicts.
 */
import { namedParams, nameParams, type Param } from "../../../src/engine/ops/param.js";
import { fillNormal, keySeed, type RawTensor, seededUniform } from "../../../src/engine/packs/synthetic.js";

/** Keys that hold embedding tables / learned tokens: N(0, 0.02) as transformers and ImageBind initialise them. */
const EMBEDDING = /(embedding|embeddings\.[a-z_]+|pos_embed|cls_token|token_embedding)(\.weight)?$/;

/**
 * torch-default initialisation, seeded per key (so adding a module changes no other tensor):
 *  - `init` buffers (position ids, masks, sinusoids) keep their init; integer tensors are zeros;
 *  - embedding tables / pos / cls tokens: N(0, 0.02);
 *  - rank ≥ 2 weights: U(±1/√fan_in) (kaiming_uniform with a = √5, torch's Linear/Conv default);
 *  - rank-1 `…weight` (norm scales): 1; every other rank ≤ 1 tensor (biases, HiFiGAN `mean`): 0; HiFiGAN
 *    `scale`: 1;
 *  - `zeroKeys` (e.g. AnimateDiff's zero-initialised motion `proj_out`): 0.
 */
export function initParams(
  model: object,
  seed: number,
  overrides: { zeroKeys?: RegExp; constants?: Record<string, number> } = {},
): void {
  for (const [key, p] of namedParams(model)) {
    if (p.init) {
      p.set(p.init());
      continue;
    }
    if (p.dtype !== "float32") {
      p.set(new Int32Array(p.size));
      continue;
    }
    const out = new Float32Array(p.size);
    const c = overrides.constants?.[key];
    if (c !== undefined) out.fill(c);
    else if (overrides.zeroKeys?.test(key)) out.fill(0);
    else if (EMBEDDING.test(key)) fillNormal(out, seededUniform(keySeed(key, seed)), 0.02);
    else if (p.shape.length >= 2) {
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(Math.max(1, fanIn));
      const r = seededUniform(keySeed(key, seed));
      for (let i = 0; i < out.length; i++) out[i] = (2 * r() - 1) * bound;
    } else if (key.endsWith("weight") || key.endsWith(".scale")) out.fill(1);
    p.set(out);
  }
}

/**
 * Give every parameter of several models a process-unique name (`<model>/<key>`), since tf.Variables are
 * registered globally by name. Checkpoint keys still come from `namedParams(model)` (the tree walk).
 */
export function nameForTraining(models: Record<string, object>): void {
  for (const [name, m] of Object.entries(models)) nameParams(m, `${name}/`);
}

/** The model's tensors as raw safetensors entries (F32, I64 for int64 buffers, I32 otherwise). */
export function stateDict(
  model: object,
  keep: (key: string) => boolean = () => true,
): Record<string, RawTensor> {
  const out: Record<string, RawTensor> = {};
  for (const [key, p] of namedParams(model)) {
    if (!keep(key)) continue;
    out[key] = rawOf(p);
  }
  return out;
}

export function rawOf(p: Param): RawTensor {
  const v = p.values();
  if (v instanceof Float32Array)
    return { dtype: "F32", shape: p.shape, data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
  if (p.dtype === "int64") {
    const b = new BigInt64Array(v.length);
    for (let i = 0; i < v.length; i++) b[i] = BigInt(v[i]);
    return { dtype: "I64", shape: p.shape, data: new Uint8Array(b.buffer) };
  }
  return { dtype: "I32", shape: p.shape, data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
}

/** Load values by key from a decoder (`get(key)` → values or undefined); returns the keys that were absent. */
export function loadState(
  model: object,
  get: (key: string) => Float32Array | Int32Array | undefined,
): string[] {
  const missing: string[] = [];
  for (const [key, p] of namedParams(model)) {
    const v = get(key);
    if (!v) {
      missing.push(key);
      continue;
    }
    p.set(p.dtype === "float32" ? Float32Array.from(v) : Int32Array.from(v));
  }
  return missing;
}

export function countParams(model: object, keep: (key: string) => boolean = () => true): number {
  let n = 0;
  for (const [key, p] of namedParams(model)) if (keep(key) && !p.buffer) n += p.size;
  return n;
}
