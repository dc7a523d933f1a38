/**
 * The self-tests' composed function, written once against `Ops` (DESIGN.md rule 1) and once in float64 JS as
 * the reference: conv2d (3→4, 3×3, pad 1) → layerNorm over W → softmax over channels → 1 − cos(·, target).
 * Shapes are tiny on purpose: headless WebGPU here is SwiftShader.
 */
import type { Ops } from "../../ops/ops.js";

export const X_SHAPE = [1, 3, 6, 6] as const;
const [N, C, H, W] = X_SHAPE;
const O = 4;
const K = 3;
export const Y_SHAPE = [N, O, H, W] as const;
const EPS = 1e-5;

export interface ComposedData {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  target: Float32Array;
}

/** mulberry32: a tiny seeded PRNG, so every run (and both executors) see the same numbers. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function composedData(seed = 1): ComposedData {
  const r = rng(seed);
  const fill = (n: number, scale: number, offset = 0) =>
    Float32Array.from({ length: n }, () => offset + scale * (2 * r() - 1));
  return {
    x: fill(N * C * H * W, 1),
    w: fill(O * C * K * K, 0.5),
    b: fill(O, 0.1),
    gamma: fill(W, 0.2, 1),
    beta: fill(W, 0.1),
    target: fill(N * O * H * W, 1),
  };
}

/** Returns the softmax map `p` [1, 4, 6, 6] and the scalar loss `1 − cos(flatten(p), target)`. */
export function composed<T>(ops: Ops<T>, x: T, d: ComposedData): { p: T; loss: T } {
  const w = ops.constant(d.w, [O, C, K, K]);
  const b = ops.constant(d.b, [O]);
  let y = ops.conv(x, w, b, { padding: 1 });
  y = ops.layerNorm(y, ops.constant(d.gamma, [W]), ops.constant(d.beta, [W]), EPS, -1);
  const p = ops.softmax(y, 1);
  const flat = ops.reshape(p, [-1]);
  const t = ops.constant(d.target, [N * O * H * W]);
  const dot = ops.sum(ops.mul(flat, t), 0);
  const norms = ops.mul(ops.sqrt(ops.sum(ops.mul(flat, flat), 0)), ops.sqrt(ops.sum(ops.mul(t, t), 0)));
  const loss = ops.add(ops.neg(ops.div(dot, norms)), 1);
  return { p, loss };
}

/** The same function in float64 JS (the reference for both self-tests). */
export function composedReference(x: ArrayLike<number>, d: ComposedData): { p: Float64Array; loss: number } {
  const y = new Float64Array(N * O * H * W);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        let s = d.b[o]!;
        for (let c = 0; c < C; c++) {
          for (let ki = 0; ki < K; ki++) {
            for (let kj = 0; kj < K; kj++) {
              const ii = i + ki - 1;
              const jj = j + kj - 1;
              if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
              s += x[(c * H + ii) * W + jj]! * d.w[((o * C + c) * K + ki) * K + kj]!;
            }
          }
        }
        y[(o * H + i) * W + j] = s;
      }
    }
  }
  for (let r = 0; r < O * H; r++) {
    let mean = 0;
    for (let j = 0; j < W; j++) mean += y[r * W + j]!;
    mean /= W;
    let v = 0;
    for (let j = 0; j < W; j++) v += (y[r * W + j]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / W + EPS);
    for (let j = 0; j < W; j++) y[r * W + j] = (y[r * W + j]! - mean) * inv * d.gamma[j]! + d.beta[j]!;
  }
  const p = new Float64Array(y.length);
  for (let s = 0; s < H * W; s++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let o = 0; o < O; o++) m = Math.max(m, y[o * H * W + s]!);
    let z = 0;
    for (let o = 0; o < O; o++) z += Math.exp(y[o * H * W + s]! - m);
    for (let o = 0; o < O; o++) p[o * H * W + s] = Math.exp(y[o * H * W + s]! - m) / z;
  }
  let dot = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < p.length; k++) {
    dot += p[k]! * d.target[k]!;
    pp += p[k]! ** 2;
    tt += d.target[k]! ** 2;
  }
  return { p, loss: 1 - dot / Math.sqrt(pp * tt) };
}

/** Central finite differences of the reference loss w.r.t. x, in float64. */
export function referenceGrad(d: ComposedData, h = 1e-5): Float64Array {
  const x = Float64Array.from(d.x);
  const g = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const x0 = x[k]!;
    x[k] = x0 + h;
    const up = composedReference(x, d).loss;
    x[k] = x0 - h;
    const down = composedReference(x, d).loss;
    x[k] = x0;
    g[k] = (up - down) / (2 * h);
  }
  return g;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** ‖a − b‖ / ‖b‖ (scale-free; STYLE.md §5). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
