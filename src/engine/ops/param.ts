/**
 * Parameters and the state-dict walker.
 *
 * Modules are plain classes whose fields are `Param`s, sub-modules, arrays of them, or `null` for a missing
 * optional part. Field names are the upstream state-dict keys (snake_case, exactly as in diffusers /
 * transformers / ImageBind), so `namedParams(model)` yields `down_blocks.0.resnets.1.conv1.weight` and a
 * real checkpoint maps onto the tree by name, with no mapping table (STYLE.md 2).
 */
import { ModelPackError } from "../errors.js";
import { dequantizeQ4 } from "./onnx/quant.js";

/** The dtype class a checkpoint stores a tensor in. Floats are held as Float32Array, integers as Int32Array. */
export type ParamDType = "float32" | "int64" | "int32";

export interface ParamOptions {
  /** A registered buffer rather than a trainable parameter (e.g. ImageBind audio `log_logit_scale`). */
  buffer?: boolean;
  dtype?: ParamDType;
  /**
   * Non-persistent buffers may be absent from checkpoints (e.g. `position_ids` in newer transformers).
   * The loader accepts their absence and uses `init`.
   */
  optional?: boolean;
  /** Values used when an optional buffer is absent. */
  init?: () => Float32Array | Int32Array;
}

/**
 * A torch Linear weight [N, K] held as ONNX Runtime `MatMulNBits` 4-bit blocks (quant.ts layout), as model packs
 * with quantization "q4" store it. The ONNX emitter uses the blocks as they are; anything that needs float values
 * (the tfjs executor, fp32/fp16 graphs) gets them dequantized by `Param.values()`.
 */
export interface PackedQ4 {
  /** [N, ceil(K / blockSize), blockSize / 2] uint8, two codes per byte, low nibble first. */
  codes: Uint8Array;
  /** [N · ceil(K / blockSize)] */
  scales: Float32Array;
  blockSize: number;
}

export class Param {
  /** Dotted checkpoint key; assigned by `nameParams` from the module tree. */
  name = "";
  readonly shape: readonly number[];
  readonly buffer: boolean;
  readonly dtype: ParamDType;
  readonly optional: boolean;
  readonly init: (() => Float32Array | Int32Array) | undefined;
  /** Host copy of the values (null until loaded; executors may upload and drop it). */
  data: Float32Array | Int32Array | null = null;
  /** Bumped whenever `data` is replaced, so executors can invalidate cached device copies. */
  version = 0;
  /** 4-bit blocks of a rank-2 weight loaded from a q4 pack (null otherwise); see `PackedQ4`. */
  q4: PackedQ4 | null = null;

  constructor(shape: readonly number[], opts: ParamOptions = {}) {
    this.shape = [...shape];
    this.buffer = opts.buffer ?? false;
    this.dtype = opts.dtype ?? "float32";
    this.optional = opts.optional ?? false;
    this.init = opts.init;
  }

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  set(data: Float32Array | Int32Array): void {
    if (data.length !== this.size) {
      throw new ModelPackError(
        `tensor "${this.name}" has ${data.length} values, expected ${this.size} for shape [${this.shape}]`,
        { key: this.name },
      );
    }
    this.data = data;
    this.q4 = null; // new values make stored blocks stale
    this.version++;
  }

  /** Hold this weight as 4-bit blocks only (host float values are produced on demand by `values()`). */
  setQ4(q: PackedQ4): void {
    const [n, k] = this.shape;
    const kBlocks = Math.ceil(k / q.blockSize);
    if (
      this.shape.length !== 2 ||
      this.dtype !== "float32" ||
      q.blockSize < 16 ||
      (q.blockSize & (q.blockSize - 1)) !== 0 ||
      q.codes.length !== (n * kBlocks * q.blockSize) / 2 ||
      q.scales.length !== n * kBlocks
    ) {
      throw new ModelPackError(
        `q4 blocks for "${this.name}" do not fit shape [${this.shape}] with block size ${q.blockSize}`,
        { key: this.name },
      );
    }
    this.q4 = q;
    this.data = null;
    this.version++;
  }

  /** The host values, or a clear error if the weights were never loaded. */
  values(): Float32Array | Int32Array {
    if (this.data) return this.data;
    if (this.q4) {
      const q = this.q4;
      const [n, k] = this.shape;
      this.data = dequantizeQ4({ ...q, n, k, kBlocks: Math.ceil(k / q.blockSize) });
      return this.data; // the blocks stay: the ONNX emitter keeps using them
    }
    if (this.init) {
      this.set(this.init());
      return this.data!;
    }
    throw new ModelPackError(`weights for "${this.name || "<unnamed>"}" were not loaded`, { key: this.name });
  }
}

function isWalkable(v: unknown): v is object {
  if (v === null || typeof v !== "object") return false;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return false;
  if (v instanceof Map || v instanceof Set || v instanceof Promise) return false;
  return true;
}

/**
 * All parameters and buffers of a module tree, keyed by their dotted path, in field declaration order.
 * A `Param` reachable by two paths (weight tying) is reported once, at its first path.
 */
export function namedParams(root: object, prefix = ""): [string, Param][] {
  const out: [string, Param][] = [];
  const seen = new Set<object>();
  const walk = (node: unknown, path: string) => {
    if (node instanceof Param) {
      if (!seen.has(node)) {
        seen.add(node);
        out.push([path, node]);
      }
      return;
    }
    if (!isWalkable(node) || seen.has(node)) return;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) walk(node[i], path ? `${path}.${i}` : String(i));
      return;
    }
    for (const [k, child] of Object.entries(node)) {
      if (k.startsWith("_")) continue; // private helpers (caches, config copies) are never checkpoint state
      walk(child, path ? `${path}.${k}` : k);
    }
  };
  walk(root, prefix);
  return out;
}

/** Assign every Param its dotted key. Call once after constructing a model. */
export function nameParams<M extends object>(root: M, prefix = ""): M {
  for (const [name, p] of namedParams(root, prefix)) p.name = name;
  return root;
}

export interface TensorSpec {
  shape: readonly number[];
  dtype: ParamDType;
}

export interface KeyCheck {
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: readonly number[]; got: readonly number[] }[];
}

/** Compare a model's state-dict keys/shapes with a checkpoint's (all problems at once, STYLE.md 16). */
export function checkKeys(model: object, available: ReadonlyMap<string, TensorSpec>): KeyCheck {
  const res: KeyCheck = { missing: [], unexpected: [], mismatched: [] };
  const ours = new Map(namedParams(model));
  for (const [key, p] of ours) {
    const spec = available.get(key);
    if (!spec) {
      if (!p.optional) res.missing.push(key);
      continue;
    }
    const same = spec.shape.length === p.shape.length && spec.shape.every((d, i) => d === p.shape[i]);
    if (!same) res.mismatched.push({ key, expected: p.shape, got: spec.shape });
  }
  for (const key of available.keys()) if (!ours.has(key)) res.unexpected.push(key);
  return res;
}

export function describeKeyCheck(c: KeyCheck, limit = 20): string {
  const parts: string[] = [];
  const list = (xs: string[]) =>
    xs.slice(0, limit).join(", ") + (xs.length > limit ? `, … (${xs.length} in all)` : "");
  if (c.missing.length) parts.push(`missing ${c.missing.length}: ${list(c.missing)}`);
  if (c.unexpected.length) parts.push(`unexpected ${c.unexpected.length}: ${list(c.unexpected)}`);
  if (c.mismatched.length) {
    parts.push(
      `wrong shape ${c.mismatched.length}: ${list(c.mismatched.map((m) => `${m.key} [${m.got}] (expected [${m.expected}])`))}`,
    );
  }
  return parts.join("; ");
}

export function isCleanKeyCheck(c: KeyCheck): boolean {
  return c.missing.length === 0 && c.unexpected.length === 0 && c.mismatched.length === 0;
}
