/**
 * The few OpenCV image primitives AV-align's optical flow goes through, ported to plain TypeScript with OpenCV's
 * rounding where it is cheap to follow (float32 storage between stages, the integer grey conversion):
 *
 * - `cvtColor(COLOR_BGR2GRAY)` on 8-bit frames (OpenCV imgproc `color_rgb`: fixed point, 15-bit shift);
 * - `getGaussianKernel` + `GaussianBlur` on float32 images (separable, `BORDER_REFLECT_101`);
 * - `resize(INTER_LINEAR)` on float32 images (half-pixel centres, edge clamp; a 2× shrink runs as
 *   `INTER_AREA`, which for an exact factor of 2 is the 2×2 mean, as OpenCV's `resize` does).
 *
 * OpenCV's SIMD/IPP kernels may sum in another order, so values can differ from OpenCV's in the last float bits;
 * the tests pin that against OpenCV 4.6 outputs (see `fixtures/`).
 */
import { BadInputError } from "../errors.js";

const f32 = Math.fround;

/** Channel layout of an 8-bit frame. OpenCV decodes to BGR; WebCodecs / ffmpeg usually hand out RGB(A). */
export type PixelOrder = "bgr" | "rgb" | "bgra" | "rgba";

/** A float32 single-channel image (or `channels`-interleaved for the flow field). */
export interface ImageF32 {
  data: Float32Array;
  width: number;
  height: number;
}

// OpenCV 4.x `color_rgb.simd.hpp` RGB2Gray<uchar>: 15-bit coefficients RY15 9798, GY15 19235, BY15 3735
// (sum 2^15), rounding constant 2^14. (OpenCV 3.x used 14-bit 4899/9617/1868.) Checked against cv2 4.6 on all
// 2^24 colours by fixtures/gen_opencv.py.
const R2Y = 9798;
const G2Y = 19235;
const B2Y = 3735;
const YUV_SHIFT = 15;

/**
 * `cv2.cvtColor(frame, COLOR_BGR2GRAY)` for 8-bit input (any of the four layouts; an RGB frame gets the same
 * grey as its BGR twin): `(B·3735 + G·19235 + R·9798 + 16384) >> 15`.
 */
export function toGray(frame: Uint8Array, width: number, height: number, order: PixelOrder): Uint8Array {
  const cn = order.length;
  const n = width * height;
  if (frame.length < n * cn) {
    throw new BadInputError(
      `A ${width}×${height} ${order} frame needs ${n * cn} bytes, got ${frame.length}; check the frame size and layout.`,
    );
  }
  const rOff = order.startsWith("rgb") ? 0 : 2;
  const bOff = 2 - rOff;
  const out = new Uint8Array(n);
  const half = 1 << (YUV_SHIFT - 1);
  for (let i = 0, p = 0; i < n; i++, p += cn) {
    out[i] = (frame[p + bOff] * B2Y + frame[p + 1] * G2Y + frame[p + rOff] * R2Y + half) >> YUV_SHIFT;
  }
  return out;
}

// OpenCV `smooth.dispatch.cpp`: kernels of size ≤ 7 with sigma ≤ 0 come from a fixed table.
const SMALL_GAUSSIAN_TAB: readonly (readonly number[])[] = [
  [1],
  [0.25, 0.5, 0.25],
  [0.0625, 0.25, 0.375, 0.25, 0.0625],
  [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
];

/** `cv::getGaussianKernel(n, sigma, CV_32F)`: exp(−x²/2σ²) normalised to sum 1 in float64, stored as float32. */
export function gaussianKernel(n: number, sigma: number): Float32Array {
  const k = new Float32Array(n);
  if (n % 2 === 1 && n <= 7 && sigma <= 0) {
    k.set(SMALL_GAUSSIAN_TAB[n >> 1]);
    return k;
  }
  const s = sigma > 0 ? sigma : ((n - 1) * 0.5 - 1) * 0.3 + 0.8;
  const scale2 = -0.5 / (s * s);
  const t = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = i - (n - 1) * 0.5;
    t[i] = Math.exp(scale2 * x * x);
    sum += t[i];
  }
  for (let i = 0; i < n; i++) k[i] = t[i] / sum;
  return k;
}

/** OpenCV `borderInterpolate(p, len, BORDER_REFLECT_101)`: … 2 1 | 0 1 2 … n−1 | n−2 n−3 … */
export function reflect101(p: number, len: number): number {
  if (len === 1) return 0;
  while (p < 0 || p >= len) {
    if (p < 0) p = -p;
    else p = 2 * len - 2 - p;
  }
  return p;
}

/**
 * `cv::GaussianBlur(src, dst, Size(ksize, ksize), sigma, sigma)` on a float32 image: separable, row filter then
 * column filter, float32 intermediate, `BORDER_REFLECT_101`. Symmetric sums `k0·s0 + Σ k_i·(s_i + s_−i)` in float32.
 */
export function gaussianBlur(img: ImageF32, ksize: number, sigma: number): ImageF32 {
  return blurMasked(img, ksize, sigma, null, null);
}

/**
 * `gaussianBlur` evaluated only at the columns `cols` and rows `rows` (null = all); other pixels are left 0.
 * Each computed pixel is the same float32 computation as in the full blur.
 */
function blurMasked(
  img: ImageF32,
  ksize: number,
  sigma: number,
  cols: Uint8Array | null,
  rows: Uint8Array | null,
): ImageF32 {
  const { width: w, height: h, data } = img;
  if (ksize === 1) return { width: w, height: h, data: data.slice() };
  const k = gaussianKernel(ksize, sigma);
  const r = ksize >> 1;
  const kc = k.subarray(r);
  // rows the column pass reads
  const need = new Uint8Array(h);
  for (let y = 0; y < h; y++) {
    if (rows && !rows[y]) continue;
    for (let i = -r; i <= r; i++) need[reflect101(y + i, h)] = 1;
  }
  // row pass
  const tmp = new Float32Array(w * h);
  const idx = new Int32Array(w + 2 * r);
  for (let x = -r; x < w + r; x++) idx[x + r] = reflect101(x, w);
  for (let y = 0; y < h; y++) {
    if (!need[y]) continue;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      if (cols && !cols[x]) continue;
      let s = f32(kc[0] * data[o + idx[x + r]]);
      for (let i = 1; i <= r; i++)
        s = f32(s + f32(kc[i] * f32(data[o + idx[x + r + i]] + data[o + idx[x + r - i]])));
      tmp[o + x] = s;
    }
  }
  // column pass
  const out = new Float32Array(w * h);
  const rowOff = new Int32Array(h + 2 * r);
  for (let y = -r; y < h + r; y++) rowOff[y + r] = reflect101(y, h) * w;
  for (let y = 0; y < h; y++) {
    if (rows && !rows[y]) continue;
    const o = y * w;
    const c = rowOff[y + r];
    for (let x = 0; x < w; x++) {
      if (cols && !cols[x]) continue;
      let s = f32(kc[0] * tmp[c + x]);
      for (let i = 1; i <= r; i++)
        s = f32(s + f32(kc[i] * f32(tmp[rowOff[y + r + i] + x] + tmp[rowOff[y + r - i] + x])));
      out[o + x] = s;
    }
  }
  return { width: w, height: h, data: out };
}

/** Source indices an OpenCV linear resize from `src` to `dst` samples reads (all of them for a 2× area shrink). */
function usedSource(src: number, dst: number, exact2x: boolean): Uint8Array {
  const used = new Uint8Array(src);
  if (exact2x || src === dst) return used.fill(1);
  const { ofs } = linearTaps(src, dst);
  for (let d = 0; d < dst; d++) {
    used[ofs[d]] = 1;
    used[Math.min(ofs[d] + 1, src - 1)] = 1;
  }
  return used;
}

/**
 * `GaussianBlur` then `resize(INTER_LINEAR)` to `dw × dh`, as Farnebäck builds each pyramid level, blurring only
 * the pixels the resize reads. Equal to `resizeLinear(gaussianBlur(img).data, …)`.
 */
export function blurThenResize(
  img: ImageF32,
  ksize: number,
  sigma: number,
  dw: number,
  dh: number,
): Float32Array {
  const { width: w, height: h } = img;
  const exact2x = w === 2 * dw && h === 2 * dh;
  const blurred = blurMasked(img, ksize, sigma, usedSource(w, dw, exact2x), usedSource(h, dh, exact2x));
  return resizeLinear(blurred.data, w, h, dw, dh);
}

/** Per-output-index source offset and weights of OpenCV's linear resize along one axis. */
function linearTaps(src: number, dst: number): { ofs: Int32Array; a0: Float32Array; a1: Float32Array } {
  const scale = src / dst;
  const ofs = new Int32Array(dst);
  const a0 = new Float32Array(dst);
  const a1 = new Float32Array(dst);
  for (let d = 0; d < dst; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx >= src - 1) {
      fx = 0;
      sx = src - 1;
    }
    ofs[d] = sx;
    a0[d] = f32(1 - fx);
    a1[d] = fx;
  }
  return { ofs, a0, a1 };
}

/**
 * `cv::resize(src, dst, Size(dw, dh), 0, 0, INTER_LINEAR)` for float32 data with `channels` interleaved channels.
 * Same size → copy; an exact 2× shrink → 2×2 mean (OpenCV switches to `INTER_AREA` there); otherwise bilinear
 * with `fx = (dx + 0.5)·scale − 0.5` and clamped edges (horizontal pass, then vertical).
 */
export function resizeLinear(
  src: Float32Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
  channels = 1,
): Float32Array {
  if (sw === dw && sh === dh) return src.slice();
  const cn = channels;
  const out = new Float32Array(dw * dh * cn);
  if (sw === 2 * dw && sh === 2 * dh) {
    const step = sw * cn;
    for (let y = 0; y < dh; y++) {
      const s0 = 2 * y * step;
      for (let x = 0; x < dw; x++) {
        for (let c = 0; c < cn; c++) {
          const p = s0 + 2 * x * cn + c;
          const t = f32(f32(src[p] + src[p + cn]) + f32(src[p + step] + src[p + step + cn]));
          out[(y * dw + x) * cn + c] = f32(t * 0.25);
        }
      }
    }
    return out;
  }
  const hx = linearTaps(sw, dw);
  const vy = linearTaps(sh, dh);
  // horizontal pass of every source row that is needed, cached by source row index
  const rowCache = new Map<number, Float32Array>();
  const hrow = (sy: number): Float32Array => {
    let r = rowCache.get(sy);
    if (r) return r;
    r = new Float32Array(dw * cn);
    const o = sy * sw * cn;
    for (let x = 0; x < dw; x++) {
      const sx = hx.ofs[x] * cn;
      const sx1 = Math.min(hx.ofs[x] + 1, sw - 1) * cn;
      for (let c = 0; c < cn; c++) {
        r[x * cn + c] = f32(f32(src[o + sx + c] * hx.a0[x]) + f32(src[o + sx1 + c] * hx.a1[x]));
      }
    }
    rowCache.set(sy, r);
    return r;
  };
  for (let y = 0; y < dh; y++) {
    const sy = vy.ofs[y];
    const r0 = hrow(sy);
    const r1 = hrow(Math.min(sy + 1, sh - 1));
    const b0 = vy.a0[y];
    const b1 = vy.a1[y];
    const o = y * dw * cn;
    for (let x = 0; x < dw * cn; x++) out[o + x] = f32(f32(r0[x] * b0) + f32(r1[x] * b1));
  }
  return out;
}
