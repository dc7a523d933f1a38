/**
 * Condition-video preprocessing against the official code's golden (`imagebind_prep_video` and any fixture of
 * the same family), the differentiable generated-frames path against the plain path, and the resize weights
 * against their defining properties. Frame rate, clip count, clip times and tolerances come from the fixture.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as ortNode from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { framesUint8ToChw } from "../../../../test/parity/runners/preprocess.js";
import {
  type Fixture,
  hasGolden,
  listFixtures,
  loadFixture,
  relL2,
  tolerance,
} from "../../../../test/support/golden.js";
import { OnnxEmitter, type Sym } from "../../ops/onnx/emitter.js";
import { createSession, type OrtModule, runSession } from "../../ops/onnx/session.js";
import { TfjsOps, valueAndGrads } from "../../ops/tfjs.js";
import {
  clipsForDuration,
  framesToImageBindInput,
  imagebindFrameIndices,
  imagebindVideoClips,
  imagebindVideoResize,
  sampledFramesToImageBindInput,
  shortSideScaleSize,
  videoToImageBindInput,
} from "./imagebind_video.js";
import { antialiasWeights, bilinearWeights, composeRows, denseRows } from "./resize.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

interface PrepClip {
  start_sec: string;
  end_sec: string;
  decoded_frame_idxs: number[];
  subsampled: number[];
}

function prepCase(fx: Fixture) {
  const io = fx.io!;
  const [T, H, W, C] = io.shape("in.frames_uint8");
  const what = String(fx.meta.what);
  const m = what.match(/at ([\d.]+) fps/);
  if (!m) throw new Error(`cannot read the frame rate from "${what}"`);
  const frames = Uint8Array.from(io.get("in.frames_uint8"));
  const outShape = io.shape("out.vision_input");
  return { frames, T, H, W, C, fps: Number(m[1]), S: outShape[1], n: outShape[3], outShape, io };
}

const report: string[] = [];

describe.skipIf(!hasGolden())("ImageBind condition video vs the official golden", () => {
  const names = hasGolden() ? listFixtures().filter((n) => n.startsWith("imagebind_prep_video")) : [];
  it("finds the fixture family", () => expect(names.length).toBeGreaterThan(0));

  for (const name of names) {
    it(`${name}: clip times and frame indices`, () => {
      const fx = loadFixture(name);
      const { T, fps, S, n } = prepCase(fx);
      const clips = imagebindVideoClips(T, fps, S, { samplesPerClip: n });
      const rec = fx.meta.clips as PrepClip[];
      expect(
        clips.map((c) => ({
          start_sec: c.start.toString(),
          end_sec: c.end.toString(),
          decoded_frame_idxs: c.decoded,
          subsampled: c.sampled,
        })),
      ).toEqual(rec.map((c) => ({ ...c })));
    });

    it(`${name}: plain path output within tolerance`, () => {
      const fx = loadFixture(name);
      const { frames, T, H, W, fps, S, n, io } = prepCase(fx);
      const t0 = performance.now();
      const out = videoToImageBindInput({ data: frames, numFrames: T, height: H, width: W, fps }, S, {
        samplesPerClip: n,
      });
      const t1 = performance.now();
      const e = relL2(out, io.float("out.vision_input"));
      const tol = tolerance(fx, "out.vision_input");
      report.push(`${name} plain: ${e.rel.toExponential(2)} (tol ${tol}), ${(t1 - t0).toFixed(0)} ms`);
      expect(e.rel).toBeLessThanOrEqual(tol);
    });

    it(`${name}: differentiable path (tfjs, ONNX) equals the plain path and the golden`, async () => {
      const fx = loadFixture(name);
      const { frames, T, H, W, fps, S, n, outShape, io } = prepCase(fx);
      const chw = framesUint8ToChw(frames, T, H, W);
      const plain = videoToImageBindInput({ data: frames, numFrames: T, height: H, width: W, fps }, S, {
        samplesPerClip: n,
      });
      const ops = new TfjsOps();
      const y = tf.tidy(() =>
        framesToImageBindInput(ops, tf.tensor(chw, [T, 3, H, W]), fps, S, { samplesPerClip: n }),
      );
      expect(y.shape).toEqual(outShape);
      const diff = Float32Array.from(await y.data());
      y.dispose();
      ops.dispose();
      let worst = 0;
      for (let i = 0; i < diff.length; i++) worst = Math.max(worst, Math.abs(diff[i] - plain[i]));
      expect(worst).toBeLessThan(2e-5);
      const tol = tolerance(fx, "out.vision_input");
      const eT = relL2(diff, io.float("out.vision_input")).rel;
      expect(eT).toBeLessThanOrEqual(tol);

      const em = new OnnxEmitter();
      em.output(
        "y",
        framesToImageBindInput<Sym>(em, em.input("frames", [T, 3, H, W]), fps, S, { samplesPerClip: n }),
      );
      const ort = ortNode as unknown as OrtModule;
      const session = await createSession(ort, em.build());
      const res = await runSession(ort, session, { frames: { data: chw, shape: [T, 3, H, W] } });
      await session.release();
      const eO = relL2(res.y.data, io.float("out.vision_input")).rel;
      report.push(
        `${name} differentiable: tfjs ${eT.toExponential(2)}, onnx ${eO.toExponential(2)} (tol ${tol}); max|tfjs − plain| ${worst.toExponential(2)}`,
      );
      expect(eO).toBeLessThanOrEqual(tol);
    });
  }

  it("report", () => console.log(report.join("\n")));
});

describe("generated-video frame sampling (SPEC §8 Q8) and the differentiable path", () => {
  it("16 frames at 8 fps: S = 2, first/last frame of each 1-s clip", () => {
    expect(clipsForDuration(16, 8)).toBe(2);
    expect(imagebindFrameIndices(16, 8, 2)).toEqual([0, 7, 8, 15]);
    expect(clipsForDuration(24, 8)).toBe(3);
    expect(imagebindFrameIndices(24, 8, 3)).toEqual([0, 7, 8, 15, 16, 23]);
    // 16 frames at 10 fps (1.6 s): S = 2, clips [0, 1] and [0.6000000000000001, …]: 1.6 − 1 in double is just
    // above 0.6, so ceil(10·start) = 7, not 6 (checked against Python's fractions + math.ceil)
    expect(clipsForDuration(16, 10)).toBe(2);
    expect(imagebindFrameIndices(16, 10, 2)).toEqual([0, 9, 7, 15]);
    // shorter than a clip: every clip is [0, 1] → all frames
    expect(imagebindFrameIndices(6, 8, 1)).toEqual([0, 5]);
  });

  it("differentiable path equals the plain path, and gradients reach only sampled frames", async () => {
    const F = 16;
    const H = 64;
    const W = 80;
    const fps = 8;
    const S = clipsForDuration(F, fps);
    const u8 = new Uint8Array(F * H * W * 3);
    let s = 12345;
    for (let i = 0; i < u8.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      u8[i] = (s >>> 16) & 255;
    }
    const plain = videoToImageBindInput({ data: u8, numFrames: F, height: H, width: W, fps }, S);
    const chw = framesUint8ToChw(u8, F, H, W);
    const ops = new TfjsOps();
    const x = tf.tensor(chw, [F, 3, H, W]);
    const y = framesToImageBindInput(ops, x, fps, S);
    const diff = await y.data();
    let worst = 0;
    for (let i = 0; i < diff.length; i++) worst = Math.max(worst, Math.abs(diff[i] - plain[i]));
    expect(worst).toBeLessThan(2e-5);
    const { grads } = valueAndGrads((f) => tf.sum(tf.square(framesToImageBindInput(ops, f, fps, S))), [x]);
    const g = await grads[0].data();
    const sampled = new Set(imagebindFrameIndices(F, fps, S));
    const per = H * W * 3;
    for (let f = 0; f < F; f++) {
      let norm = 0;
      for (let i = 0; i < per; i++) norm += Math.abs(g[f * per + i]);
      if (sampled.has(f)) expect(norm).toBeGreaterThan(0);
      else expect(norm).toBe(0);
    }
    // sampledFramesToImageBindInput on pre-selected frames gives the same tensor
    const idx = imagebindFrameIndices(F, fps, S);
    const pre = tf.concat(idx.map((i) => tf.slice(x, [i, 0, 0, 0], [1, 3, H, W])));
    const y2 = await sampledFramesToImageBindInput(ops, pre, S).data();
    let same = 0;
    for (let i = 0; i < y2.length; i++) same = Math.max(same, Math.abs(y2[i] - diff[i]));
    expect(same).toBe(0);
    ops.dispose();
  });
});

describe("resize weights", () => {
  it("ShortSideScale floors the long side; landscape and portrait", () => {
    expect(shortSideScaleSize(36, 48)).toEqual([224, 298]);
    expect(shortSideScaleSize(48, 36)).toEqual([298, 224]);
    expect(shortSideScaleSize(512, 512)).toEqual([224, 224]);
    expect(shortSideScaleSize(1080, 1920)).toEqual([224, 398]);
  });

  it("bilinear (no antialias) reproduces torch's sample positions; rows sum to 1", () => {
    const r = bilinearWeights(4, 8); // 2× upsample: src = i/2 − 0.25 clamped at 0
    const d = denseRows(r);
    expect(Array.from(d.subarray(0, 4))).toEqual([1, 0, 0, 0]);
    expect(Array.from(d.subarray(4, 8))).toEqual([0.75, 0.25, 0, 0]);
    expect(Array.from(d.subarray(28, 32))).toEqual([0, 0, 0, 1]);
    const down = bilinearWeights(10, 4); // no antialias: only 2 taps even when downscaling
    for (const w of down.weights) expect(w.length).toBeLessThanOrEqual(2);
    for (const rr of [r, down, antialiasWeights(298, 224, "bilinear"), antialiasWeights(500, 224, "bicubic")])
      for (const w of rr.weights) expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("antialiased bilinear widens the triangle by the scale; identity at scale 1", () => {
    const id = antialiasWeights(7, 7, "bilinear");
    expect(Array.from(denseRows(id))).toEqual(Array.from({ length: 49 }, (_, i) => (i % 8 === 0 ? 1 : 0)));
    const half = antialiasWeights(8, 4, "bilinear"); // scale 2: support 2, taps at distance 0.5 and 1.5
    expect(half.start[1]).toBe(1);
    expect(Array.from(half.weights[1])).toEqual([0.125, 0.375, 0.375, 0.125]);
  });

  it("condition-video resize composes ShortSideScale and the squash to 224×224", () => {
    const r = imagebindVideoResize(36, 48);
    expect(r.scaled).toEqual([224, 298]);
    expect([r.rows.inSize, r.rows.outSize, r.cols.inSize, r.cols.outSize]).toEqual([36, 224, 48, 224]);
    const direct = composeRows(antialiasWeights(298, 224, "bilinear"), bilinearWeights(48, 298));
    expect(Array.from(denseRows(r.cols))).toEqual(Array.from(denseRows(direct)));
  });
});
