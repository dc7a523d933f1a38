/**
 * The one op interface every network in the engine is written against.
 *
 * Two executors implement it (DESIGN.md rule 1):
 *  - `TfjsOps` (ops/tfjs.ts): eager tfjs tensors with autodiff (tfjs-backend-webgpu in the browser, the cpu or
 *    wasm backend in Node). Used wherever a gradient is needed.
 *  - `OnnxEmitter` (ops/onnx/emitter.ts): records an ONNX graph while the same model code runs on symbolic
 *    tensors; weights become initializers (fp32, fp16 or 4-bit MatMulNBits).
 *
 * Conventions (torch semantics, so upstream code reads line for line):
 *  - Tensors are dense, row-major, with static shapes known at call time.
 *  - Images/feature maps are channels-first: [N, C, ...spatial].
 *  - Axes may be negative (counted from the end).
 *  - Binary ops broadcast like numpy; a `number` operand is a scalar of the other operand's dtype.
 *  - Conv weights use torch layouts: conv [O, C/groups, ...k]; conv-transpose [C_in, C_out/groups, ...k].
 *  - `linear` takes a torch `nn.Linear` weight [out, in]: y = x W^T + b.
 *
 * Adding a primitive means: this interface + tfjs + ONNX emitter + a parity case for each (STYLE.md 6).
 */
import type { Param } from "./param.js";

export type DType = "float32" | "int32";
export type Shape = readonly number[];

export interface ConvOptions {
  /** Per spatial dim, or one value for all. Default 1. */
  stride?: number | readonly number[];
  /** Symmetric per spatial dim (`p` or `[p_h, p_w]`), or explicit `[[begin, end], ...]`. Default 0. */
  padding?: number | readonly number[] | readonly (readonly [number, number])[];
  /** Default 1. */
  dilation?: number | readonly number[];
  /** Default 1. */
  groups?: number;
}

export interface ConvTransposeOptions {
  stride?: number | readonly number[];
  /** torch semantics: removes `padding` from both ends of the full transposed output. */
  padding?: number | readonly number[];
  outputPadding?: number | readonly number[];
}

export interface AttentionOptions<T> {
  /** Multiplies q·kᵀ before the softmax. */
  scale: number;
  /** Optional additive bias broadcastable to [B, H, Lq, Lk] (e.g. a causal mask of 0 / -inf). */
  bias?: T;
}

export interface Ops<T> {
  /** Which executor this is ("tfjs" or "onnx"); for diagnostics only — model code must not branch on it. */
  readonly kind: "tfjs" | "onnx";

  shape(x: T): number[];
  dtype(x: T): DType;

  // --- leaves --------------------------------------------------------------------------------------------
  /** A model weight or buffer (frozen unless the executor was created for training). */
  param(p: Param): T;
  /** A constant computed by model code (DFT basis, mel matrix, index tables, masks). */
  constant(data: Float32Array | Int32Array, shape: Shape): T;

  // --- elementwise ---------------------------------------------------------------------------------------
  add(a: T, b: T | number): T;
  sub(a: T, b: T | number): T;
  mul(a: T, b: T | number): T;
  div(a: T, b: T | number): T;
  /** a ** p for a scalar exponent. */
  pow(a: T, p: number): T;
  maximum(a: T, b: T | number): T;
  minimum(a: T, b: T | number): T;
  neg(x: T): T;
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  abs(x: T): T;
  tanh(x: T): T;
  sigmoid(x: T): T;
  relu(x: T): T;
  erf(x: T): T;
  sin(x: T): T;
  cos(x: T): T;
  leakyRelu(x: T, alpha: number): T;

  // --- reductions ----------------------------------------------------------------------------------------
  sum(x: T, axes: number | readonly number[], keepDims?: boolean): T;
  mean(x: T, axes: number | readonly number[], keepDims?: boolean): T;
  max(x: T, axes: number | readonly number[], keepDims?: boolean): T;
  softmax(x: T, axis?: number): T;
  /** Index of the first maximum along `axis` (int32); the axis is removed. */
  argmax(x: T, axis: number): T;

  // --- linear algebra ------------------------------------------------------------------------------------
  /** numpy matmul: rank ≥ 2, batch dims broadcast. */
  matmul(a: T, b: T): T;
  /** y = x Wᵀ + b with a torch Linear weight [out, in]; x is [..., in]. Quantizable by the emitter. */
  linear(x: T, weight: Param, bias: Param | null): T;
  /** N-d convolution (1d/2d/3d by rank), x [N, C, ...spatial], w [O, C/groups, ...k], b [O]. */
  conv(x: T, w: T, b: T | null, opts?: ConvOptions): T;
  /** N-d transposed convolution (1d/2d), w [C_in, C_out/groups, ...k]. */
  convTranspose(x: T, w: T, b: T | null, opts?: ConvTransposeOptions): T;
  /** Normalises over dims [axis, rank) to zero mean / unit variance (biased), then optional affine. */
  layerNorm(x: T, weight: T | null, bias: T | null, eps: number, axis?: number): T;
  /** softmax(scale · q kᵀ + bias) v for q [B, H, Lq, D], k/v [B, H, Lk, D] → [B, H, Lq, D]. */
  attention(q: T, k: T, v: T, opts: AttentionOptions<T>): T;

  // --- layout --------------------------------------------------------------------------------------------
  /** One dim may be -1. */
  reshape(x: T, shape: Shape): T;
  transpose(x: T, perm: readonly number[]): T;
  /** Narrow `axis` to [start, end) (end clamped to the size; negative values count from the end). */
  slice(x: T, axis: number, start: number, end: number): T;
  concat(xs: readonly T[], axis: number): T;
  /** Constant padding, `pads[i] = [before, after]` for every dim. */
  pad(x: T, pads: readonly (readonly [number, number])[], value?: number): T;
  /** numpy take: indices int32 of any shape replace `axis`. */
  gather(x: T, indices: T, axis: number): T;
  broadcastTo(x: T, shape: Shape): T;
  cast(x: T, dtype: DType): T;

  // --- memory --------------------------------------------------------------------------------------------
  /**
   * `f(x)`, marked for gradient checkpointing: an executor that differentiates may drop `f`'s intermediates
   * after the forward and recompute them in the backward (tfjs), trading compute for memory; others just call
   * `f`. `f` must be a pure function of `x` and frozen weights.
   */
  checkpoint(f: (x: T) => T, x: T): T;
}

/** Normalise a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new RangeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Expand a per-spatial-dim option (`n` or `[a, b, ...]`) to `dims` values. */
export function perDim(v: number | readonly number[] | undefined, dims: number, dflt: number): number[] {
  if (v === undefined) return new Array(dims).fill(dflt);
  if (typeof v === "number") return new Array(dims).fill(v);
  if (v.length !== dims) throw new RangeError(`expected ${dims} values, got [${v.join(", ")}]`);
  return [...v];
}

/** Expand conv padding to explicit [begin, end] pairs per spatial dim. */
export function convPads(p: ConvOptions["padding"], dims: number): [number, number][] {
  if (p === undefined || typeof p === "number") {
    const n = p ?? 0;
    return Array.from({ length: dims }, () => [n, n] as [number, number]);
  }
  if (p.length !== dims) throw new RangeError(`expected padding for ${dims} dims`);
  return p.map((q) => (typeof q === "number" ? [q, q] : [q[0], q[1]])) as [number, number][];
}

/** numpy broadcast of two shapes. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new RangeError(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Resolve a reshape target with at most one -1 against a total size. */
export function resolveShape(shape: Shape, size: number): number[] {
  let unknown = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (unknown >= 0) throw new RangeError("only one -1 allowed in reshape");
      unknown = i;
    } else known *= d;
  });
  const out = [...shape];
  if (unknown >= 0) {
    if (known === 0 || size % known !== 0) throw new RangeError(`cannot reshape size ${size} to [${shape}]`);
    out[unknown] = size / known;
  } else if (known !== size) throw new RangeError(`cannot reshape size ${size} to [${shape}]`);
  return out;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
