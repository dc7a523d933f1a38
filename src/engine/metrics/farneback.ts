/**
 * Dense optical flow by Gunnar Farnebäck's polynomial-expansion method, ported from OpenCV's CPU path
 * (`modules/video/src/optflowgf.cpp`, `FarnebackOpticalFlowImpl::calc` as `cv2.calcOpticalFlowFarneback` runs it
 * on `numpy` input). AV-align calls it as `calcOpticalFlowFarneback(prev, next, None, 0.5, 3, 15, 3, 5, 1.2, 0)`.
 *
 * Followed from the source:
 * - the pyramid is not a `pyrDown` chain: each level blurs the FULL-resolution frame with a Gaussian of
 *   σ = (1/scale − 1)/2, size `cvRound(5σ) | 1` (≥ 3; σ = 0 at level 0 gives OpenCV's fixed [¼ ½ ¼] kernel),
 *   then `resize`s it to `cvRound(size·scale)`; levels stop before a side drops under 32 px;
 * - `FarnebackPolyExp` (separable Gaussian-weighted least squares, replicated borders, the float/double mix of
 *   the C++ code reproduced with `Math.fround`), `FarnebackUpdateMatrices` (bilinear sampling of R1 at the
 *   displaced position, the 5-pixel border attenuation 0.14/0.14/0.4472…), `FarnebackUpdateFlow_Blur` (flags 0:
 *   box filter of `winsize`, running double sums, replicated borders, `idet = 1/(det + 1e-3)`), `iterations`
 *   passes with the matrices refreshed between passes (OpenCV refreshes them in stripes while it sweeps; every
 *   stripe lies behind the rows still to be read, so a refresh after the sweep is the same computation);
 * - the coarser flow is `resize`d (bilinear) to the next level and multiplied by 1/pyr_scale.
 * Not followed: the `OPTFLOW_FARNEBACK_GAUSSIAN` and `OPTFLOW_USE_INITIAL_FLOW` flags (AV-align passes 0), and
 * OpenCV's OpenCL path (never taken for numpy input).
 *
 * Checked against cv2 4.6.0 (Debian build, no IPP) by `fixtures/gen_opencv.py`: flow within ~1e-6 px, mean
 * magnitude within ~1e-8 relative (GaussianBlur differs by 1–2 float32 ulps: OpenCV's SIMD sums in another
 * order). The official code pins opencv-python 4.8.1.78, whose wheel also routes GaussianBlur through IPP; we
 * could not run it here, so AV-align built on this flow is labelled approximate (`AV_ALIGN_FIDELITY`).
 *
 * `FarnebackFrameCache` keeps one frame's pyramid of polynomial expansions so that a frame sequence expands
 * every frame once (OpenCV expands both frames of every pair); the numbers are the same.
 */
import { BadInputError } from "../errors.js";
import { blurThenResize, type ImageF32, resizeLinear } from "./image.js";

const f32 = Math.fround;

/** `cv2.calcOpticalFlowFarneback` parameters (OpenCV names in comments). */
export interface FarnebackParams {
  /** pyr_scale (< 1). */
  pyrScale: number;
  /** levels: pyramid levels above the full-resolution one (fewer when the image is small). */
  levels: number;
  /** winsize: box-filter window of the flow update. */
  winSize: number;
  /** iterations per pyramid level. */
  iterations: number;
  /** poly_n: neighbourhood half-size of the polynomial expansion. */
  polyN: number;
  /** poly_sigma: Gaussian σ of the polynomial expansion weights. */
  polySigma: number;
}

/** The call in the official `eval/av-align/av-align.py`: (0.5, 3, 15, 3, 5, 1.2, flags 0). */
export const AV_ALIGN_FARNEBACK: Readonly<FarnebackParams> = Object.freeze({
  pyrScale: 0.5,
  levels: 3,
  winSize: 15,
  iterations: 3,
  polyN: 5,
  polySigma: 1.2,
});

/** OpenCV `cvRound`: round half to even (lrint). */
function cvRound(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface PolyConsts {
  g: Float32Array;
  xg: Float32Array;
  xxg: Float32Array;
  ig11: number;
  ig03: number;
  ig33: number;
  ig55: number;
}

/** `FarnebackPrepareGaussian`: float32 weights g, x·g, x²·g (index k + n), and four entries of G⁻¹ in double. */
function prepareGaussian(n: number, sigma: number): PolyConsts {
  if (sigma < 1.1920929e-7) sigma = n * 0.3;
  const len = 2 * n + 1;
  const g = new Float32Array(len);
  const xg = new Float32Array(len);
  const xxg = new Float32Array(len);
  let s = 0;
  for (let x = -n; x <= n; x++) {
    g[x + n] = Math.exp((-x * x) / (2 * sigma * sigma));
    s += g[x + n];
  }
  s = 1 / s;
  for (let x = -n; x <= n; x++) {
    g[x + n] = g[x + n] * s;
    xg[x + n] = x * g[x + n];
    xxg[x + n] = x * x * g[x + n];
  }
  let g00 = 0;
  let g11 = 0;
  let g33 = 0;
  let g55 = 0;
  for (let y = -n; y <= n; y++) {
    for (let x = -n; x <= n; x++) {
      // float products as in C (g[y]*g[x]*x*x is evaluated in float), accumulated in double
      const gg = f32(g[y + n] * g[x + n]);
      const ggxx = f32(f32(gg * x) * x);
      g00 += gg;
      g11 += ggxx;
      g33 += f32(f32(ggxx * x) * x);
      g55 += f32(f32(ggxx * y) * y);
    }
  }
  // G = [[g00,0,0,g11,g11,0],[0,g11,0,0,0,0],[0,0,g11,0,0,0],[g11,0,0,g33,g55,0],[g11,0,0,g55,g33,0],[0,…,g55]].
  // Its inverse in closed form: the {0,3,4} block is [[a,b,b],[b,c,d],[b,d,c]].
  const a = g00;
  const b = g11;
  const c = g33;
  const d = g55;
  // Block [[a, b, b], [b, c, d], [b, d, c]]: inverse entries (0,3)→(0,1) and (3,3)→(1,1) of the 3×3 block.
  const det = a * (c * c - d * d) - b * (b * c - b * d) + b * (b * d - c * b);
  const inv01 = -(b * c - d * b) / det;
  const inv11 = (a * c - b * b) / det;
  return { g, xg, xxg, ig11: 1 / b, ig03: inv01, ig33: inv11, ig55: 1 / d };
}

/**
 * `FarnebackPolyExp`: per pixel the 5 coefficients [r_y, r_x, r_yy, r_xx, r_xy] (OpenCV's channel order) of the
 * local quadratic fit, float32, `5·width·height`.
 */
export function polyExp(src: ImageF32, n: number, sigma: number): Float32Array {
  const { width, height, data } = src;
  const { g, xg, xxg, ig11, ig03, ig33, ig55 } = prepareGaussian(n, sigma);
  const dst = new Float32Array(width * height * 5);
  // row buffer with n*3 guard cells each side
  const rowBuf = new Float32Array((width + 2 * n) * 3);
  const R = n * 3;
  for (let y = 0; y < height; y++) {
    const s0 = y * width;
    let g0 = g[n];
    for (let x = 0; x < width; x++) {
      rowBuf[R + x * 3] = f32(data[s0 + x] * g0);
      rowBuf[R + x * 3 + 1] = 0;
      rowBuf[R + x * 3 + 2] = 0;
    }
    for (let k = 1; k <= n; k++) {
      g0 = g[n + k];
      const g1 = xg[n + k];
      const g2 = xxg[n + k];
      const a0 = Math.max(y - k, 0) * width;
      const a1 = Math.min(y + k, height - 1) * width;
      for (let x = 0; x < width; x++) {
        const lo = data[a0 + x];
        const hi = data[a1 + x];
        const p = f32(lo + hi);
        const i = R + x * 3;
        rowBuf[i] = f32(rowBuf[i] + f32(g0 * p));
        rowBuf[i + 1] = f32(rowBuf[i + 1] + f32(g1 * f32(hi - lo)));
        rowBuf[i + 2] = f32(rowBuf[i + 2] + f32(g2 * p));
      }
    }
    // horizontal borders: replicate the first / last pixel's triple
    for (let x = 0; x < n * 3; x++) {
      rowBuf[R - 1 - x] = rowBuf[R + 2 - x];
      rowBuf[R + width * 3 + x] = rowBuf[R + width * 3 + x - 3];
    }
    const d0 = y * width * 5;
    for (let x = 0; x < width; x++) {
      const c = R + x * 3;
      g0 = g[n];
      let b1 = f32(rowBuf[c] * g0);
      let b2 = 0;
      let b3 = f32(rowBuf[c + 1] * g0);
      let b4 = 0;
      let b5 = f32(rowBuf[c + 2] * g0);
      let b6 = 0;
      for (let k = 1; k <= n; k++) {
        const pr = c + k * 3;
        const pl = c - k * 3;
        const tg = f32(rowBuf[pr] + rowBuf[pl]);
        g0 = g[n + k];
        b1 += tg * g0;
        b4 += tg * xxg[n + k];
        b2 += f32(f32(rowBuf[pr] - rowBuf[pl]) * xg[n + k]);
        b3 += f32(f32(rowBuf[pr + 1] + rowBuf[pl + 1]) * g0);
        b6 += f32(f32(rowBuf[pr + 1] - rowBuf[pl + 1]) * xg[n + k]);
        b5 += f32(f32(rowBuf[pr + 2] + rowBuf[pl + 2]) * g0);
      }
      const o = d0 + x * 5;
      dst[o + 1] = b2 * ig11;
      dst[o] = b3 * ig11;
      dst[o + 3] = b1 * ig03 + b4 * ig33;
      dst[o + 2] = b1 * ig03 + b5 * ig33;
      dst[o + 4] = b6 * ig55;
    }
  }
  return dst;
}

const BORDER = 5;
const BORDER_W = [0.14, 0.14, 0.4472, 0.4472, 0.4472].map(f32);

/** `FarnebackUpdateMatrices` for rows [y0, y1): M = [G11, G12, G22, h1, h2] per pixel from R0, R1 and the flow. */
function updateMatrices(
  R0: Float32Array,
  R1: Float32Array,
  flow: Float32Array,
  M: Float32Array,
  width: number,
  height: number,
  y0: number,
  y1: number,
): void {
  const step1 = width * 5;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < width; x++) {
      const fi = (y * width + x) * 2;
      const dx = flow[fi];
      const dy = flow[fi + 1];
      let fx = f32(x + dx);
      let fy = f32(y + dy);
      const x1 = Math.floor(fx);
      const y1i = Math.floor(fy);
      const r0 = (y * width + x) * 5;
      let r2: number;
      let r3: number;
      let r4: number;
      let r5: number;
      let r6: number;
      fx = f32(fx - x1);
      fy = f32(fy - y1i);
      if (x1 >= 0 && x1 < width - 1 && y1i >= 0 && y1i < height - 1) {
        const a00 = f32(f32(1 - fx) * f32(1 - fy));
        const a01 = f32(fx * f32(1 - fy));
        const a10 = f32(f32(1 - fx) * fy);
        const a11 = f32(fx * fy);
        const p = y1i * step1 + x1 * 5;
        const q = p + step1;
        // ((a00·p0 + a01·p1) + a10·q0) + a11·q1, each step in float32
        r2 = f32(f32(f32(f32(a00 * R1[p]) + f32(a01 * R1[p + 5])) + f32(a10 * R1[q])) + f32(a11 * R1[q + 5]));
        r3 = f32(
          f32(f32(f32(a00 * R1[p + 1]) + f32(a01 * R1[p + 6])) + f32(a10 * R1[q + 1])) + f32(a11 * R1[q + 6]),
        );
        r4 = f32(
          f32(f32(f32(a00 * R1[p + 2]) + f32(a01 * R1[p + 7])) + f32(a10 * R1[q + 2])) + f32(a11 * R1[q + 7]),
        );
        r5 = f32(
          f32(f32(f32(a00 * R1[p + 3]) + f32(a01 * R1[p + 8])) + f32(a10 * R1[q + 3])) + f32(a11 * R1[q + 8]),
        );
        r6 = f32(
          f32(f32(f32(a00 * R1[p + 4]) + f32(a01 * R1[p + 9])) + f32(a10 * R1[q + 4])) + f32(a11 * R1[q + 9]),
        );
        r4 = f32(f32(R0[r0 + 2] + r4) * 0.5);
        r5 = f32(f32(R0[r0 + 3] + r5) * 0.5);
        r6 = f32(f32(R0[r0 + 4] + r6) * 0.25);
      } else {
        r2 = 0;
        r3 = 0;
        r4 = R0[r0 + 2];
        r5 = R0[r0 + 3];
        r6 = f32(R0[r0 + 4] * 0.5);
      }
      r2 = f32(f32(R0[r0] - r2) * 0.5);
      r3 = f32(f32(R0[r0 + 1] - r3) * 0.5);
      r2 = f32(r2 + f32(f32(r4 * dy) + f32(r6 * dx)));
      r3 = f32(r3 + f32(f32(r6 * dy) + f32(r5 * dx)));
      // OpenCV compares as unsigned: (unsigned)(x − 5) >= (unsigned)(width − 10)
      if (
        (x - BORDER) >>> 0 >= (width - 2 * BORDER) >>> 0 ||
        (y - BORDER) >>> 0 >= (height - 2 * BORDER) >>> 0
      ) {
        const scale = f32(
          f32(
            f32((x < BORDER ? BORDER_W[x] : 1) * (x >= width - BORDER ? BORDER_W[width - x - 1] : 1)) *
              (y < BORDER ? BORDER_W[y] : 1),
          ) * (y >= height - BORDER ? BORDER_W[height - y - 1] : 1),
        );
        r2 = f32(r2 * scale);
        r3 = f32(r3 * scale);
        r4 = f32(r4 * scale);
        r5 = f32(r5 * scale);
        r6 = f32(r6 * scale);
      }
      const m = (y * width + x) * 5;
      M[m] = f32(f32(r4 * r4) + f32(r6 * r6));
      M[m + 1] = f32(f32(r4 + r5) * r6);
      M[m + 2] = f32(f32(r5 * r5) + f32(r6 * r6));
      M[m + 3] = f32(f32(r4 * r2) + f32(r6 * r3));
      M[m + 4] = f32(f32(r6 * r2) + f32(r5 * r3));
    }
  }
}

/**
 * `FarnebackUpdateFlow_Blur`: box-filter M over `blockSize`² (replicated borders, running double sums in
 * OpenCV's order), solve the 2×2 system per pixel into `flow`, then (if asked) refresh M from the new flow.
 */
function updateFlowBlur(
  R0: Float32Array,
  R1: Float32Array,
  flow: Float32Array,
  M: Float32Array,
  width: number,
  height: number,
  blockSize: number,
  updateM: boolean,
): void {
  const m = blockSize >> 1;
  const scale = 1 / (blockSize * blockSize);
  const W5 = width * 5;
  const off = (m + 1) * 5;
  const vbuf = new Float64Array((width + m * 2 + 2) * 5);
  const mp2 = f32(m + 2);
  for (let x = 0; x < W5; x++) vbuf[off + x] = f32(M[x] * mp2);
  for (let y = 1; y < m; y++) {
    const r = Math.min(y, height - 1) * W5;
    for (let x = 0; x < W5; x++) vbuf[off + x] += M[r + x];
  }
  for (let y = 0; y < height; y++) {
    const s0 = Math.max(y - m - 1, 0) * W5;
    const s1 = Math.min(y + m, height - 1) * W5;
    for (let x = 0; x < W5; x++) vbuf[off + x] += f32(M[s1 + x] - M[s0 + x]);
    for (let x = 0; x < (m + 1) * 5; x++) {
      vbuf[off - 1 - x] = vbuf[off + 4 - x];
      vbuf[off + W5 + x] = vbuf[off + W5 + x - 5];
    }
    let g11 = vbuf[off] * (m + 2);
    let g12 = vbuf[off + 1] * (m + 2);
    let g22 = vbuf[off + 2] * (m + 2);
    let h1 = vbuf[off + 3] * (m + 2);
    let h2 = vbuf[off + 4] * (m + 2);
    for (let x = 1; x < m; x++) {
      g11 += vbuf[off + x * 5];
      g12 += vbuf[off + x * 5 + 1];
      g22 += vbuf[off + x * 5 + 2];
      h1 += vbuf[off + x * 5 + 3];
      h2 += vbuf[off + x * 5 + 4];
    }
    const fo = y * width * 2;
    for (let x = 0; x < width; x++) {
      const a = off + (x + m) * 5;
      const b = off + (x - m) * 5 - 5;
      g11 += vbuf[a] - vbuf[b];
      g12 += vbuf[a + 1] - vbuf[b + 1];
      g22 += vbuf[a + 2] - vbuf[b + 2];
      h1 += vbuf[a + 3] - vbuf[b + 3];
      h2 += vbuf[a + 4] - vbuf[b + 4];
      const g11s = g11 * scale;
      const g12s = g12 * scale;
      const g22s = g22 * scale;
      const h1s = h1 * scale;
      const h2s = h2 * scale;
      const idet = 1 / (g11s * g22s - g12s * g12s + 1e-3);
      flow[fo + x * 2] = (g11s * h2s - g12s * h1s) * idet;
      flow[fo + x * 2 + 1] = (g22s * h1s - g12s * h2s) * idet;
    }
  }
  if (updateM) updateMatrices(R0, R1, flow, M, width, height, 0, height);
}

interface Level {
  width: number;
  height: number;
  R: Float32Array;
}

/** Level sizes and blur settings, as `FarnebackOpticalFlowImpl::calc` derives them. */
export function pyramidPlan(
  width: number,
  height: number,
  p: Readonly<FarnebackParams>,
): { width: number; height: number; sigma: number; ksize: number }[] {
  if (!(p.pyrScale < 1)) throw new BadInputError(`Farnebäck pyr_scale must be < 1 (got ${p.pyrScale}).`);
  const minSize = 32;
  let k = 0;
  for (let scale = 1; k < p.levels; k++) {
    scale *= p.pyrScale;
    if (width * scale < minSize || height * scale < minSize) break;
  }
  const plan: { width: number; height: number; sigma: number; ksize: number }[] = [];
  for (let lvl = 0; lvl <= k; lvl++) {
    let scale = 1;
    for (let i = 0; i < lvl; i++) scale *= p.pyrScale;
    const sigma = (1 / scale - 1) * 0.5;
    const ksize = Math.max(cvRound(sigma * 5) | 1, 3);
    plan.push({ width: cvRound(width * scale), height: cvRound(height * scale), sigma, ksize });
  }
  return plan;
}

/** One frame's polynomial expansions at every pyramid level (index 0 = full resolution). */
export class FarnebackFrameCache {
  readonly levels: readonly Level[];
  constructor(
    readonly gray: ImageF32,
    readonly params: Readonly<FarnebackParams> = AV_ALIGN_FARNEBACK,
  ) {
    const plan = pyramidPlan(gray.width, gray.height, params);
    this.levels = plan.map(({ width, height, sigma, ksize }) => {
      const I = blurThenResize(gray, ksize, sigma, width, height);
      return { width, height, R: polyExp({ width, height, data: I }, params.polyN, params.polySigma) };
    });
  }
}

/** Grey uint8 (or any numbers) → float32 image, OpenCV `convertTo(CV_32F)`. */
export function grayToF32(gray: ArrayLike<number>, width: number, height: number): ImageF32 {
  return { width, height, data: Float32Array.from(gray) };
}

/**
 * `cv2.calcOpticalFlowFarneback(prev, next, None, …, flags=0)`: flow [height, width, 2] (dx, dy) in float32,
 * from two frames' caches built with the same parameters.
 */
export function farnebackFlow(prev: FarnebackFrameCache, next: FarnebackFrameCache): Float32Array {
  const p = prev.params;
  if (prev.gray.width !== next.gray.width || prev.gray.height !== next.gray.height) {
    throw new BadInputError("Optical flow needs two frames of the same size.");
  }
  let flow: Float32Array | null = null;
  let prevW = 0;
  let prevH = 0;
  for (let k = prev.levels.length - 1; k >= 0; k--) {
    const { width, height, R: R0 } = prev.levels[k];
    const R1 = next.levels[k].R;
    let cur: Float32Array;
    if (flow === null) cur = new Float32Array(width * height * 2);
    else {
      cur = resizeLinear(flow, prevW, prevH, width, height, 2);
      const s = 1 / p.pyrScale;
      for (let i = 0; i < cur.length; i++) cur[i] = cur[i] * s;
    }
    const M = new Float32Array(width * height * 5);
    updateMatrices(R0, R1, cur, M, width, height, 0, height);
    for (let i = 0; i < p.iterations; i++) {
      updateFlowBlur(R0, R1, cur, M, width, height, p.winSize, i < p.iterations - 1);
    }
    flow = cur;
    prevW = width;
    prevH = height;
  }
  return flow ?? new Float32Array(0);
}

/** `cv2.calcOpticalFlowFarneback` on two grey images given as numbers (uint8 or float). */
export function calcOpticalFlowFarneback(
  prev: ImageF32,
  next: ImageF32,
  params: Readonly<FarnebackParams> = AV_ALIGN_FARNEBACK,
): Float32Array {
  return farnebackFlow(new FarnebackFrameCache(prev, params), new FarnebackFrameCache(next, params));
}

/** `cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0]`: mean of float32 √(dx² + dy²), summed in double. */
export function meanFlowMagnitude(flow: Float32Array): number {
  const n = flow.length >> 1;
  if (n === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const dx = flow[2 * i];
    const dy = flow[2 * i + 1];
    s += f32(Math.sqrt(f32(f32(dx * dx) + f32(dy * dy))));
  }
  return s / n;
}
