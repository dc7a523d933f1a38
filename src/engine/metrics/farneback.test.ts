/**
 * Farnebäck optical flow and its image primitives, against (a) real OpenCV outputs recorded by
 * `fixtures/gen_opencv.py` (OpenCV 4.6.0; the official code pins 4.8.1 — see the note in farneback.ts) and
 * (b) an independent reference: a texture translated by a known sub-pixel shift.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AV_ALIGN_FARNEBACK,
  calcOpticalFlowFarneback,
  grayToF32,
  meanFlowMagnitude,
  pyramidPlan,
} from "./farneback.js";
import { b64f32, b64u8, frame, makeGrids } from "./fixtures/synthetic.js";
import {
  blurThenResize,
  gaussianBlur,
  gaussianKernel,
  type ImageF32,
  resizeLinear,
  toGray,
} from "./image.js";

interface Goldens {
  opencv: string;
  gray: { bgr: string; gray: string };
  kernels: { n: number; sigma: number; k: number[] }[];
  blur: { width: number; height: number; seed: number; cases: { n: number; sigma: number; out: string }[] };
  resize: { width: number; height: number; seed: number; cases: { w: number; h: number; out: string }[] };
  resize2: { out: string };
  pairs: {
    width: number;
    height: number;
    sxf: number;
    syf: number;
    stride: number;
    sha_a: string;
    flow: string;
    mean_mag: number;
  }[];
  sequence: { width: number; height: number; seed: number; pos: number[]; fps: number; trajectory: number[] };
}

const G: Goldens = JSON.parse(
  readFileSync(new URL("./fixtures/opencv_goldens.json", import.meta.url), "utf8"),
);
const grids = makeGrids(7);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("OpenCV image primitives", () => {
  it("cvtColor BGR2GRAY matches cv2 on every sampled colour (and RGB input gives the same grey)", () => {
    const bgr = b64u8(G.gray.bgr);
    const want = b64u8(G.gray.gray);
    const n = want.length;
    expect([...toGray(bgr, n, 1, "bgr")]).toEqual([...want]);
    const rgb = new Uint8Array(bgr.length);
    for (let i = 0; i < n; i++) {
      rgb[3 * i] = bgr[3 * i + 2];
      rgb[3 * i + 1] = bgr[3 * i + 1];
      rgb[3 * i + 2] = bgr[3 * i];
    }
    expect([...toGray(rgb, n, 1, "rgb")]).toEqual([...want]);
  });

  it("getGaussianKernel matches cv2 (fixed table for 3/σ=0, computed otherwise)", () => {
    for (const { n, sigma, k } of G.kernels) expect(maxAbsDiff(gaussianKernel(n, sigma), k)).toBe(0);
  });

  it("GaussianBlur and resize(INTER_LINEAR) on float32 match cv2 to float rounding", () => {
    const { width, height } = G.blur;
    const img = grayToF32(frame(grids, width, height, 0, 0), width, height);
    for (const c of G.blur.cases) {
      const d = maxAbsDiff(gaussianBlur(img, c.n, c.sigma).data, b64f32(c.out));
      console.log(`GaussianBlur ${c.n}/σ${c.sigma}: max |Δ| ${d.toExponential(2)}`);
      expect(d, `blur ${c.n}/${c.sigma}`).toBeLessThan(1e-4);
    }
    const r = G.resize;
    const src = grayToF32(frame(grids, r.width, r.height, 0, 0), r.width, r.height).data;
    for (const c of r.cases) {
      const d = maxAbsDiff(resizeLinear(src, r.width, r.height, c.w, c.h), b64f32(c.out));
      console.log(`resize → ${c.w}×${c.h}: max |Δ| ${d.toExponential(2)}`);
      expect(d, `resize → ${c.w}×${c.h}`).toBeLessThan(1e-4);
    }
    // 2-channel upscale, as the flow is carried to the next pyramid level
    const two = new Float32Array(16 * 12 * 2);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 16; x++) {
        two[(y * 16 + x) * 2] = src[y * r.width + x];
        two[(y * 16 + x) * 2 + 1] = src[(r.height - 1 - y) * r.width + x];
      }
    }
    expect(maxAbsDiff(resizeLinear(two, 16, 12, 32, 24, 2), b64f32(G.resize2.out))).toBeLessThan(1e-4);
    // the pyramid's masked blur (only the pixels resize reads) equals blur-then-resize exactly
    for (const [n, sg, w, h] of [
      [19, 3.5, 8, 6],
      [9, 1.5, 16, 12],
      [3, 0.5, 32, 24],
      [9, 1.5, 21, 17],
    ]) {
      const full = resizeLinear(
        gaussianBlur({ width: r.width, height: r.height, data: src }, n, sg).data,
        r.width,
        r.height,
        w,
        h,
      );
      expect(
        maxAbsDiff(blurThenResize({ width: r.width, height: r.height, data: src }, n, sg, w, h), full),
      ).toBe(0);
    }
  });
});

describe("Farnebäck flow", () => {
  it("pyramid plan: 256×256 gets 4 levels with OpenCV's blur sizes (3, 3, 9, 19)", () => {
    const plan = pyramidPlan(256, 256, AV_ALIGN_FARNEBACK);
    expect(plan.map((l) => [l.width, l.ksize])).toEqual([
      [256, 3],
      [128, 3],
      [64, 9],
      [32, 19],
    ]);
    expect(pyramidPlan(80, 64, AV_ALIGN_FARNEBACK).length).toBe(2);
  });

  for (const p of G.pairs) {
    it(`matches cv2.calcOpticalFlowFarneback on a ${p.width}×${p.height} pair`, () => {
      const a = frame(grids, p.width, p.height, 0, 0);
      const b = frame(grids, p.width, p.height, p.sxf, p.syf);
      expect(createHash("sha256").update(a).digest("hex").slice(0, 16)).toBe(p.sha_a);
      const flow = calcOpticalFlowFarneback(
        grayToF32(a, p.width, p.height),
        grayToF32(b, p.width, p.height),
        AV_ALIGN_FARNEBACK,
      );
      const want = b64f32(p.flow);
      const got: number[] = [];
      for (let y = 0; y < p.height; y += p.stride) {
        for (let x = 0; x < p.width; x += p.stride)
          got.push(flow[(y * p.width + x) * 2], flow[(y * p.width + x) * 2 + 1]);
      }
      const d = maxAbsDiff(got, want);
      const mm = meanFlowMagnitude(flow);
      console.log(
        `${p.width}x${p.height}: max|Δflow| ${d.toExponential(2)}, mean mag ${mm} vs ${p.mean_mag}`,
      );
      expect(d).toBeLessThan(1e-3);
      expect(Math.abs(mm - p.mean_mag) / p.mean_mag).toBeLessThan(1e-5);
    });
  }

  it("recovers a known translation: mean interior error < 0.05 px for shifts of 0.5–3 px", () => {
    const W = 160;
    const H = 128;
    const margin = 24;
    const report: string[] = [];
    for (const [sxf, syf] of [
      [8, 0],
      [0, -12],
      [21, 13],
      [-32, 24],
      [48, -8],
    ]) {
      const a = grayToF32(frame(grids, W, H, 0, 0), W, H);
      const b = grayToF32(frame(grids, W, H, sxf, syf), W, H);
      const flow = calcOpticalFlowFarneback(a, b);
      const tx = sxf / 16;
      const ty = syf / 16;
      let sum = 0;
      let max = 0;
      let n = 0;
      for (let y = margin; y < H - margin; y++) {
        for (let x = margin; x < W - margin; x++) {
          const e = Math.hypot(flow[(y * W + x) * 2] - tx, flow[(y * W + x) * 2 + 1] - ty);
          sum += e;
          max = Math.max(max, e);
          n++;
        }
      }
      report.push(`(${tx}, ${ty}): mean ${(sum / n).toFixed(4)} max ${max.toFixed(3)}`);
      expect(sum / n).toBeLessThan(0.05);
      expect(max).toBeLessThan(0.5);
    }
    console.log(`known-shift endpoint error in the interior: ${report.join("; ")}`);
  });

  it("on a smooth (sinusoidal, unquantised) pattern the interior error is < 0.1 px everywhere", () => {
    const W = 128;
    const H = 112;
    const margin = 20;
    const img = (tx: number, ty: number): ImageF32 => {
      const data = new Float32Array(W * H);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const u = x - tx;
          const v = y - ty;
          data[y * W + x] =
            128 +
            40 * Math.sin((2 * Math.PI * u) / 23) +
            30 * Math.sin((2 * Math.PI * v) / 17 + 1) +
            20 * Math.sin((2 * Math.PI * (u + v)) / 31);
        }
      }
      return { width: W, height: H, data };
    };
    const worst: string[] = [];
    for (const [tx, ty] of [
      [0.5, 0],
      [-1.25, 0.75],
      [2, -1.5],
      [0, 3],
    ]) {
      const flow = calcOpticalFlowFarneback(img(0, 0), img(tx, ty));
      let max = 0;
      for (let y = margin; y < H - margin; y++) {
        for (let x = margin; x < W - margin; x++) {
          max = Math.max(max, Math.hypot(flow[(y * W + x) * 2] - tx, flow[(y * W + x) * 2 + 1] - ty));
        }
      }
      worst.push(`(${tx}, ${ty}): ${max.toFixed(4)}`);
      expect(max).toBeLessThan(0.1);
    }
    console.log(`smooth pattern, max interior endpoint error: ${worst.join("; ")}`);
  });
});
