/**
 * Image → ImageBind vision input `[1, 3, 224, 224]` (the I2A condition), as upstream ImageBind
 * `load_and_transform_vision_data` computes it (also the vendored S&H copy):
 *
 *   Image.open(path).convert("RGB")
 *   → transforms.Resize(224, interpolation=BICUBIC)   on a PIL image: shorter edge → 224, longer edge →
 *                                                      int(224·long/short) (torchvision 0.17
 *                                                      `_compute_resized_output_size`); no-op if unchanged
 *   → transforms.CenterCrop(224)                       top = int(round((h − 224)/2)), Python round = half-even
 *   → transforms.ToTensor()                            uint8 / 255 → float32
 *   → transforms.Normalize(CLIP mean, std)             (x − mean)/std in float32
 *
 * Because the transforms run on a PIL image, the resize is Pillow's (10.0.1 pinned by the official env;
 * libImaging/Resample.c), not torch's: the antialiased `precompute_coeffs` weights (support 2·max(scale, 1))
 * with Pillow's bicubic filter — Keys cubic with a = −0.5 (torch's NON-antialiased bicubic uses −0.75; its
 * antialiased one copies Pillow's −0.5) — turned into 22-bit fixed point (`normalize_coeffs_8bpc`), a
 * horizontal pass rounded to uint8, then a vertical pass rounded to uint8 (`clip8`: +2^21, >> 22, clamp).
 * This module reproduces that arithmetic exactly in integers. The ImageBind model's PadIm2Video repeats the
 * image to 2 frames itself (not done here).
 *
 * RGBA input (e.g. canvas ImageData) is read as RGB with alpha ignored, which is what PIL's
 * `.convert("RGB")` does to an RGBA image (no compositing onto a background).
 */
import { BadInputError } from "../../errors.js";
import { roundHalfEven } from "../../schedulers/torch_f32.js";
import { CLIP_MEAN, CLIP_STD, IMAGEBIND_IMAGE_SIZE } from "./imagebind_video.js";
import { type AntialiasFilter, antialiasWeights } from "./resize.js";

export interface RgbImage {
  /** Row-major pixels, `channels` bytes each (RGB or RGBA). */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: 3 | 4;
}

/** Pillow's fixed-point precision for 8-bit images: 32 − 8 − 2. */
const PRECISION_BITS = 22;

/** torchvision 0.17 `_compute_resized_output_size((h, w), [size])` → [newH, newW]. */
export function resizeShorterEdgeSize(
  height: number,
  width: number,
  size = IMAGEBIND_IMAGE_SIZE,
): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short); // int(requested_new_short * long / short)
  return width <= height ? [newLong, size] : [size, newLong];
}

/** torchvision `center_crop` offsets [top, left] (crop not larger than the image). */
export function centerCropOffsets(
  height: number,
  width: number,
  crop = IMAGEBIND_IMAGE_SIZE,
): [number, number] {
  if (crop > height || crop > width)
    throw new BadInputError(`center crop ${crop} is larger than the ${height}×${width} image`);
  return [roundHalfEven((height - crop) / 2), roundHalfEven((width - crop) / 2)];
}

interface FixedCoeffs {
  ksize: number;
  start: Int32Array;
  count: Int32Array;
  /** [out, ksize] int32 coefficients. */
  k: Int32Array;
}

/** Pillow `precompute_coeffs` + `normalize_coeffs_8bpc`. */
function fixedCoeffs(inSize: number, outSize: number, filter: AntialiasFilter): FixedCoeffs {
  const rows = antialiasWeights(inSize, outSize, filter);
  const support = (filter === "bicubic" ? 2 : 1) * Math.max(inSize / outSize, 1);
  const ksize = Math.ceil(support) * 2 + 1;
  const k = new Int32Array(outSize * ksize);
  const count = new Int32Array(outSize);
  const one = 2 ** PRECISION_BITS;
  for (let i = 0; i < outSize; i++) {
    const w = rows.weights[i];
    count[i] = w.length;
    for (let j = 0; j < w.length; j++)
      k[i * ksize + j] = Math.trunc(w[j] < 0 ? -0.5 + w[j] * one : 0.5 + w[j] * one);
  }
  return { ksize, start: rows.start, count, k };
}

/** Pillow `clip8`: (ss >> PRECISION_BITS) clamped to 0…255. */
function clip8(ss: number): number {
  const v = Math.floor(ss / 2 ** PRECISION_BITS);
  return Math.min(Math.max(v, 0), 255);
}

/**
 * Pillow `Image.resize((outW, outH), filter)` of an 8-bit RGB image (ImagingResample, 8bpc path): horizontal
 * pass then vertical pass, each rounded to uint8. Returns packed RGB `[outH, outW, 3]`.
 */
export function pilResize(
  img: RgbImage,
  outW: number,
  outH: number,
  filter: AntialiasFilter = "bicubic",
): Uint8Array {
  const C = img.channels ?? 3;
  const { width: W, height: H, data } = img;
  if (data.length !== W * H * C)
    throw new BadInputError(`image: ${data.length} bytes do not hold ${W}×${H}×${C}`);
  let src = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) src[i * 3 + c] = data[i * C + c];
  if (outW === W && outH === H) return src; // Image.resize returns a copy
  const half = 2 ** (PRECISION_BITS - 1);
  let curW = W;
  if (outW !== W) {
    const h = fixedCoeffs(W, outW, filter);
    const tmp = new Uint8Array(outW * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < outW; x++) {
        const s = h.start[x];
        const kb = x * h.ksize;
        for (let c = 0; c < 3; c++) {
          let ss = half;
          for (let j = 0; j < h.count[x]; j++) ss += src[(y * W + s + j) * 3 + c] * h.k[kb + j];
          tmp[(y * outW + x) * 3 + c] = clip8(ss);
        }
      }
    src = tmp;
    curW = outW;
  }
  if (outH === H) return src;
  const v = fixedCoeffs(H, outH, filter);
  const out = new Uint8Array(curW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const s = v.start[y];
    const kb = y * v.ksize;
    for (let x = 0; x < curW; x++)
      for (let c = 0; c < 3; c++) {
        let ss = half;
        for (let j = 0; j < v.count[y]; j++) ss += src[((s + j) * curW + x) * 3 + c] * v.k[kb + j];
        out[(y * curW + x) * 3 + c] = clip8(ss);
      }
  }
  return out;
}

/**
 * The uint8 RGB image ImageBind's vision transform sees after Resize(224, BICUBIC) + CenterCrop(224):
 * `[224, 224, 3]`.
 */
export function imagebindImagePixels(img: RgbImage): Uint8Array {
  const S = IMAGEBIND_IMAGE_SIZE;
  const [h1, w1] = resizeShorterEdgeSize(img.height, img.width, S);
  const resized = pilResize(img, w1, h1, "bicubic");
  const [top, left] = centerCropOffsets(h1, w1, S);
  const out = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++)
    out.set(resized.subarray(((top + y) * w1 + left) * 3, ((top + y) * w1 + left + S) * 3), y * S * 3);
  return out;
}

/** Image → ImageBind vision input `[1, 3, 224, 224]` float32 (upstream `load_and_transform_vision_data`). */
export function imageToImageBindInput(img: RgbImage): Float32Array {
  if (!(img.width > 0 && img.height > 0)) throw new BadInputError("image: empty image");
  const S = IMAGEBIND_IMAGE_SIZE;
  const px = imagebindImagePixels(img);
  const f32 = Math.fround;
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const m = f32(CLIP_MEAN[c]);
    const s = f32(CLIP_STD[c]);
    for (let i = 0; i < S * S; i++) out[c * S * S + i] = f32(f32(f32(px[i * 3 + c] / 255) - m) / s);
  }
  return out;
}
