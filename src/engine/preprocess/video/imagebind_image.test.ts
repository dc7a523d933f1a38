/**
 * The I2A image path (upstream ImageBind `load_and_transform_vision_data`, PIL semantics) against an independent
 * float64 reference written here from the definitions: Pillow's antialiased bicubic (support 2·max(scale, 1),
 * Keys a = −0.5, weights normalised per output pixel), separable, evaluated in float64 without fixed point or
 * intermediate rounding. Pillow's 22-bit fixed point plus its uint8 intermediate image can move a pixel by a
 * level or two, never more. There is no golden fixture for this path. (During development the fixed-point
 * emulation was also compared with Pillow 11.3.0 itself on random 37×53 … 1000×667 images: identical bytes.)
 */
import { describe, expect, it } from "vitest";
import { BadInputError } from "../../errors.js";
import {
  centerCropOffsets,
  imagebindImagePixels,
  imageToImageBindInput,
  pilResize,
  resizeShorterEdgeSize,
} from "./imagebind_image.js";
import { CLIP_MEAN, CLIP_STD } from "./imagebind_video.js";

function cubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
  if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
  return 0;
}

/** Float64 antialiased cubic resampling rows (Pillow `precompute_coeffs` definition): [lo, weights]. */
function refRows(n: number, m: number, a: number): { lo: number; w: number[] }[] {
  const scale = n / m;
  const fs = Math.max(scale, 1);
  const support = 2 * fs;
  return Array.from({ length: m }, (_, i) => {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), n);
    const w: number[] = [];
    for (let j = lo; j < hi; j++) w.push(cubic((j - center + 0.5) / fs, a));
    const tot = w.reduce((p, q) => p + q, 0);
    return { lo, w: w.map((v) => v / tot) };
  });
}

/** Float64 separable resize of an RGB image; returns unrounded values [oh, ow, 3]. */
function refResize(px: Uint8Array, h: number, w: number, oh: number, ow: number, a: number): Float64Array {
  const Rh = refRows(h, oh, a);
  const Rw = refRows(w, ow, a);
  const tmp = new Float64Array(h * ow * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        Rw[x].w.forEach((v, j) => {
          s += v * px[(y * w + Rw[x].lo + j) * 3 + c];
        });
        tmp[(y * ow + x) * 3 + c] = s;
      }
  const out = new Float64Array(oh * ow * 3);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        Rh[y].w.forEach((v, j) => {
          s += v * tmp[((Rh[y].lo + j) * ow + x) * 3 + c];
        });
        out[(y * ow + x) * 3 + c] = s;
      }
  return out;
}

/** A smooth test image with some texture (random images make every resampler look equally wrong). */
function testImage(h: number, w: number, seed: number): Uint8Array {
  const px = new Uint8Array(h * w * 3);
  let s = seed >>> 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const v =
          128 + 90 * Math.sin((x * (c + 1)) / 9 + y / 13) * Math.cos(y / (7 + c)) + ((s >>> 24) % 16) - 8;
        px[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return px;
}

describe("ImageBind image path (Resize(224, BICUBIC) → CenterCrop(224) → ToTensor → Normalize, PIL)", () => {
  it("torchvision size rule: shorter edge → 224, longer → int(224·long/short)", () => {
    expect(resizeShorterEdgeSize(480, 640)).toEqual([224, 298]);
    expect(resizeShorterEdgeSize(640, 480)).toEqual([298, 224]);
    expect(resizeShorterEdgeSize(667, 1000)).toEqual([224, 335]);
    expect(resizeShorterEdgeSize(100, 100)).toEqual([224, 224]);
  });

  it("center crop rounds half to even (Python round)", () => {
    expect(centerCropOffsets(224, 299)).toEqual([0, 38]); // 37.5 → 38
    expect(centerCropOffsets(224, 297)).toEqual([0, 36]); // 36.5 → 36
    expect(centerCropOffsets(225, 224)).toEqual([0, 0]); // 0.5 → 0
    expect(centerCropOffsets(227, 224)).toEqual([2, 0]); // 1.5 → 2
    expect(() => centerCropOffsets(100, 300)).toThrow(BadInputError);
  });

  it("no resize when the shorter edge is already 224; the crop picks the recorded offset", () => {
    const w = 299;
    const px = new Uint8Array(224 * w * 3);
    for (let y = 0; y < 224; y++) for (let x = 0; x < w; x++) px[(y * w + x) * 3] = x; // column index in R
    const out = imagebindImagePixels({ data: px, width: w, height: 224 });
    expect(out[0]).toBe(38);
    expect(out[223 * 3]).toBe((38 + 223) % 256);
  });

  for (const [h, w] of [
    [37, 53],
    [300, 451],
    [500, 333],
    [640, 480],
  ]) {
    it(`${h}×${w}: fixed-point Pillow resize equals the float64 a = −0.5 reference to ≤ 2 levels`, () => {
      const px = testImage(h, w, h * 31 + w);
      const [oh, ow] = resizeShorterEdgeSize(h, w);
      const got = pilResize({ data: px, width: w, height: h }, ow, oh, "bicubic");
      const ref = refResize(px, h, w, oh, ow, -0.5);
      const alt = refResize(px, h, w, oh, ow, -0.75);
      let worst = 0;
      let mean = 0;
      let meanAlt = 0;
      for (let i = 0; i < ref.length; i++) {
        const r = Math.min(255, Math.max(0, ref[i]));
        worst = Math.max(worst, Math.abs(got[i] - r));
        mean += Math.abs(got[i] - r);
        meanAlt += Math.abs(got[i] - Math.min(255, Math.max(0, alt[i])));
      }
      mean /= ref.length;
      meanAlt /= ref.length;
      expect(worst).toBeLessThanOrEqual(2);
      expect(mean).toBeLessThan(0.5);
      expect(meanAlt).toBeGreaterThan(mean); // PIL's bicubic is a = −0.5, not torch's non-antialiased −0.75
    });
  }

  it("normalised output [1, 3, 224, 224] matches the float64 reference (crop, /255, CLIP mean/std)", () => {
    const [h, w] = [300, 451];
    const px = testImage(h, w, 99);
    const out = imageToImageBindInput({ data: px, width: w, height: h });
    expect(out.length).toBe(3 * 224 * 224);
    const [oh, ow] = resizeShorterEdgeSize(h, w);
    const ref = refResize(px, h, w, oh, ow, -0.5);
    const [top, left] = centerCropOffsets(oh, ow);
    let worst = 0;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 224; y++)
        for (let x = 0; x < 224; x++) {
          const r = Math.min(255, Math.max(0, ref[((top + y) * ow + left + x) * 3 + c]));
          const v = (r / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
          worst = Math.max(worst, Math.abs(out[(c * 224 + y) * 224 + x] - v));
        }
    expect(worst).toBeLessThanOrEqual(2.5 / 255 / Math.min(...CLIP_STD));
  });

  it("reads RGBA (alpha ignored, as PIL convert('RGB'))", () => {
    const [h, w] = [40, 30];
    const rgb = testImage(h, w, 7);
    const rgba = new Uint8ClampedArray(h * w * 4);
    for (let i = 0; i < h * w; i++) {
      rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = i % 256;
    }
    const a = imageToImageBindInput({ data: rgb, width: w, height: h });
    const b = imageToImageBindInput({ data: rgba, width: w, height: h, channels: 4 });
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
