/**
 * 1-D resampling weights (computed in float64) for the separable image resizes ImageBind's preprocessing uses,
 * as sparse banded rows, plus helpers to compose and apply them. SPEC §3.6 steps 6 and 8, §7.4.
 *
 *  - `bilinearWeights`: torch `F.interpolate(mode="bilinear", align_corners=False)` WITHOUT antialias
 *    (ATen `upsample_bilinear2d`, `area_pixel_compute_source_index`): src = max((i + 0.5)·in/out − 0.5, 0),
 *    taps floor(src) and min(floor(src) + 1, in − 1) with weights 1 − λ, λ. Used by pytorchvideo ShortSideScale.
 *  - `antialiasWeights`: ATen `_upsample_bilinear2d_aa` / `_upsample_bicubic2d_aa`
 *    (`HelperInterpBase::_compute_indices_min_size_weights_aa`), which is Pillow's `precompute_coeffs`: with
 *    scale = in/out, support = (interp/2)·max(scale, 1), center = (i + 0.5)·scale,
 *    xmin = max(int(center − support + 0.5), 0), xmax = min(int(center + support + 0.5), in),
 *    w_j = filter((j + xmin − center + 0.5)/max(scale, 1)), normalised to sum 1. Used by torchvision 0.17
 *    `Resize(antialias=True)` on tensors and by PIL `Image.resize`.
 *
 * Filters: triangle (bilinear) and Keys cubic with a = −0.5 — the value Pillow's `bicubic_filter` uses and
 * that ATen copies for its antialiased bicubic (only torch's NON-antialiased bicubic uses a = −0.75).
 */

export interface ResampleRows {
  inSize: number;
  outSize: number;
  /** First input index of each output row. */
  start: Int32Array;
  /** Weights of each output row (row i covers inputs start[i] … start[i] + weights[i].length − 1). */
  weights: Float64Array[];
}

export type AntialiasFilter = "bilinear" | "bicubic";

/** Pillow `bilinear_filter` (triangle). */
export function triangleFilter(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Pillow `bicubic_filter` / ATen aa cubic: Keys cubic convolution with a = −0.5. */
export function keysCubicFilter(x: number, a = -0.5): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

const SUPPORT: Readonly<Record<AntialiasFilter, number>> = Object.freeze({ bilinear: 1, bicubic: 2 });
const FILTER: Readonly<Record<AntialiasFilter, (x: number) => number>> = Object.freeze({
  bilinear: triangleFilter,
  bicubic: (x: number) => keysCubicFilter(x),
});

function checkSizes(inSize: number, outSize: number): void {
  if (!(Number.isInteger(inSize) && inSize > 0 && Number.isInteger(outSize) && outSize > 0))
    throw new RangeError(`resize needs positive integer sizes, got ${inSize} → ${outSize}`);
}

/** torch bilinear, align_corners=False, no antialias (ATen `upsample_bilinear2d`). */
export function bilinearWeights(inSize: number, outSize: number): ResampleRows {
  checkSizes(inSize, outSize);
  const scale = inSize / outSize;
  const start = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const src = Math.max(scale * (i + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const lambda = Math.min(Math.max(src - i0, 0), 1);
    start[i] = i0;
    weights.push(i0 < inSize - 1 ? Float64Array.of(1 - lambda, lambda) : Float64Array.of(1));
  }
  return { inSize, outSize, start, weights };
}

/**
 * Antialiased resampling rows (ATen `_compute_indices_min_size_weights_aa` = Pillow `precompute_coeffs`,
 * box = the whole axis), float64 weights normalised to sum 1.
 */
export function antialiasWeights(inSize: number, outSize: number, filter: AntialiasFilter): ResampleRows {
  checkSizes(inSize, outSize);
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT[filter] * filterScale;
  const invScale = 1 / filterScale;
  const f = FILTER[filter];
  const maxTaps = Math.ceil(support) * 2 + 1; // ATen clamps xsize to this (Pillow's ksize)
  const start = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = Math.min(Math.max(xmax - xmin, 0), maxTaps);
    const w = new Float64Array(n);
    let total = 0;
    for (let j = 0; j < n; j++) {
      w[j] = f((j + xmin - center + 0.5) * invScale);
      total += w[j];
    }
    if (total !== 0) for (let j = 0; j < n; j++) w[j] /= total;
    start[i] = xmin;
    weights.push(w);
  }
  return { inSize, outSize, start, weights };
}

/** The product `outer ∘ inner` (apply `inner` first), still banded; float64. */
export function composeRows(outer: ResampleRows, inner: ResampleRows): ResampleRows {
  if (outer.inSize !== inner.outSize)
    throw new RangeError(
      `cannot compose resizes ${inner.inSize}→${inner.outSize} and ${outer.inSize}→${outer.outSize}`,
    );
  const acc = new Float64Array(inner.inSize);
  const start = new Int32Array(outer.outSize);
  const weights: Float64Array[] = [];
  for (let i = 0; i < outer.outSize; i++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = -1;
    const wo = outer.weights[i];
    for (let j = 0; j < wo.length; j++) {
      const m = outer.start[i] + j;
      const wi = inner.weights[m];
      const s = inner.start[m];
      for (let k = 0; k < wi.length; k++) {
        acc[s + k] += wo[j] * wi[k];
        lo = Math.min(lo, s + k);
        hi = Math.max(hi, s + k);
      }
    }
    if (hi < 0) {
      start[i] = 0;
      weights.push(new Float64Array(0));
      continue;
    }
    start[i] = lo;
    weights.push(acc.slice(lo, hi + 1));
    acc.fill(0, lo, hi + 1);
  }
  return { inSize: inner.inSize, outSize: outer.outSize, start, weights };
}

/** Dense float32 matrix [outSize, inSize] (for matmul-based, differentiable resizing). */
export function denseRows(r: ResampleRows): Float32Array {
  const m = new Float32Array(r.outSize * r.inSize);
  for (let i = 0; i < r.outSize; i++) {
    const w = r.weights[i];
    for (let j = 0; j < w.length; j++) m[i * r.inSize + r.start[i] + j] = w[j];
  }
  return m;
}

/** Dense float32 transpose [inSize, outSize] (right-multiplication form `X @ Rᵀ`). */
export function denseRowsTransposed(r: ResampleRows): Float32Array {
  const m = new Float32Array(r.inSize * r.outSize);
  for (let i = 0; i < r.outSize; i++) {
    const w = r.weights[i];
    for (let j = 0; j < w.length; j++) m[(r.start[i] + j) * r.outSize + i] = w[j];
  }
  return m;
}

/**
 * Separable resize of `planes` images `[planes, H, W]` (any numeric array, read with `at(plane, y, x)` so the
 * caller can read interleaved HWC data) → float64 `[planes, rows.outSize, cols.outSize]`; columns first.
 */
export function resizePlanes(
  planes: number,
  rows: ResampleRows,
  cols: ResampleRows,
  at: (plane: number, y: number, x: number) => number,
): Float64Array {
  const H = rows.inSize;
  const OH = rows.outSize;
  const OW = cols.outSize;
  const tmp = new Float64Array(H * OW);
  const out = new Float64Array(planes * OH * OW);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < OW; x++) {
        const w = cols.weights[x];
        const s = cols.start[x];
        let acc = 0;
        for (let j = 0; j < w.length; j++) acc += w[j] * at(p, y, s + j);
        tmp[y * OW + x] = acc;
      }
    }
    const base = p * OH * OW;
    for (let y = 0; y < OH; y++) {
      const w = rows.weights[y];
      const s = rows.start[y];
      for (let x = 0; x < OW; x++) {
        let acc = 0;
        for (let j = 0; j < w.length; j++) acc += w[j] * tmp[(s + j) * OW + x];
        out[base + y * OW + x] = acc;
      }
    }
  }
  return out;
}
