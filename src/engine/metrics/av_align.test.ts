/**
 * AV-align as released: the video trajectory against OpenCV (fixtures/opencv_goldens.json), IoU arithmetic on
 * hand-made peak lists, the dataset-averaging quirk, and an end-to-end clip whose sound onsets coincide with its
 * motion bursts, which must score higher than the same clip with the sound shuffled.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  avAlignFile,
  avAlignScore,
  detectVideoPeaks,
  FlowTrajectory,
  findLocalMaxTimes,
  peaksIoU,
  type VideoInput,
} from "./av_align.js";
import { clicks, frame, makeGrids } from "./fixtures/synthetic.js";

interface Sequence {
  width: number;
  height: number;
  seed: number;
  pos: number[];
  fps: number;
  trajectory: number[];
  peaks: number[];
}
const SEQ: Sequence = JSON.parse(
  readFileSync(new URL("./fixtures/opencv_goldens.json", import.meta.url), "utf8"),
).sequence;

/** Grey frames as RGB (R = G = B = grey), so the grey conversion is part of the path. */
function rgbOf(gray: Uint8Array): Uint8Array {
  const out = new Uint8Array(gray.length * 3);
  for (let i = 0; i < gray.length; i++) out.fill(gray[i], 3 * i, 3 * i + 3);
  return out;
}

describe("video peaks", () => {
  it("the flow trajectory (first pair duplicated) and its peaks match the reference run with cv2", () => {
    const grids = makeGrids(SEQ.seed);
    const frames = SEQ.pos.map((p) => rgbOf(frame(grids, SEQ.width, SEQ.height, p, Math.floor(p / 2))));
    const { trajectory, peaks } = detectVideoPeaks({
      frames,
      width: SEQ.width,
      height: SEQ.height,
      fps: SEQ.fps,
      order: "rgb",
    });
    expect(trajectory.length).toBe(frames.length);
    expect(trajectory[0]).toBe(trajectory[1]);
    let maxRel = 0;
    trajectory.forEach((v, i) => {
      maxRel = Math.max(maxRel, Math.abs(v - SEQ.trajectory[i]) / Math.max(SEQ.trajectory[i], 1e-6));
    });
    console.log(`trajectory vs cv2: max relative difference ${maxRel.toExponential(2)}`);
    expect(maxRel).toBeLessThan(1e-5);
    expect(peaks).toEqual(SEQ.peaks);
  });

  it("strict local maxima only; the duplicated first pair can never be a peak at index 1", () => {
    expect(findLocalMaxTimes([1, 1, 0.5, 2, 2, 1, 3, 0], 2)).toEqual([3]);
    expect(findLocalMaxTimes([0, 1, 0], 4)).toEqual([0.25]);
    expect(findLocalMaxTimes([5, 5, 1, 0], 4)).toEqual([]);
  });

  it("needs two frames; no frames give no peaks", () => {
    const t = new FlowTrajectory(8, 8, "rgb");
    expect(t.trajectory).toEqual([]);
    t.push(new Uint8Array(8 * 8 * 3));
    expect(() => t.trajectory).toThrow(/at least 2 video frames/);
  });
});

describe("IoU and the dataset score", () => {
  it("counts each audio peak once, inside the open ±1/fps window", () => {
    const fps = 10; // window ±0.1 s
    // 0.5 hits 0.45; 0.52 also hits 0.45 (both audio peaks count, the video peak is shared); 1.0 misses
    expect(peaksIoU([0.5, 0.52, 1.0], [0.45, 2.0], fps)).toBeCloseTo(2 / (3 + 2 - 2), 12);
    // boundaries are open: |a − v| = 1/fps exactly is a miss
    expect(peaksIoU([0.5], [0.25], 4)).toBe(0);
    expect(peaksIoU([0.5], [0.26], 4)).toBe(1);
    // an audio peak near two video peaks still counts once
    expect(peaksIoU([1.0], [0.95, 1.05], fps)).toBe(1 / (1 + 2 - 1));
    expect(peaksIoU([], [1, 2], fps)).toBe(0);
    expect(peaksIoU([1, 2], [], fps)).toBe(0);
  });

  it("both lists empty: NaN (the reference raises ZeroDivisionError)", () => {
    expect(peaksIoU([], [], 8)).toBeNaN();
  });

  it("averages over all videos, counting those with missing audio in the denominator", () => {
    expect(avAlignScore([0.5, null, 0.25, null])).toBeCloseTo(0.75 / 4, 12);
    expect(avAlignScore([0.5, Number.NaN])).toBeNaN();
    expect(avAlignScore([0.5, Number.NaN], { degenerate: "zero" })).toBe(0.25);
  });
});

describe("end to end", () => {
  const fps = 8;
  const W = 96;
  const H = 72;
  const nFrames = 32; // 4 s
  const bursts = [5, 11, 16, 22, 28]; // frames where the texture jumps
  const grids = makeGrids(3);

  function clip(): VideoInput {
    const frames: Uint8Array[] = [];
    let x = 0;
    for (let f = 0; f < nFrames; f++) {
      if (bursts.includes(f)) x += 40; // 2.5 px jump between frame f−1 and f; still otherwise (flow 0)
      frames.push(rgbOf(frame(grids, W, H, x, 0)));
    }
    return { frames, width: W, height: H, fps, order: "rgb" };
  }

  it("sound onsets on the motion bursts score higher than the same sounds shuffled", () => {
    const sr = 16000; // exercises the resampling to 22050 Hz as well
    const n = (nFrames / fps) * sr;
    const aligned = clicks(
      5,
      n,
      sr,
      bursts.map((f) => f / fps),
    );
    const shuffledTimes = [0.3, 1.05, 2.3, 2.95, 3.3];
    const shuffled = clicks(5, n, sr, shuffledTimes);
    const video = clip();
    const t0 = performance.now();
    const a = avAlignFile({ channels: aligned, sampleRate: sr }, video);
    const ms = performance.now() - t0;
    const b = avAlignFile({ channels: shuffled, sampleRate: sr }, video);
    console.log(
      `aligned IoU ${a.iou.toFixed(3)} (audio ${a.audioPeaks.map((t) => t.toFixed(3))}, video ${a.videoPeaks}), ` +
        `shuffled IoU ${b.iou.toFixed(3)}; one file in ${ms.toFixed(0)} ms`,
    );
    expect(a.videoPeaks).toEqual(bursts.map((f) => f / fps));
    expect(a.iou).toBeGreaterThan(0.8);
    expect(b.iou).toBeLessThan(0.3);
    expect(avAlignScore([a.iou, b.iou, null])).toBeCloseTo((a.iou + b.iou) / 3, 12);
  });

  it("timing: 16 frames of 256×256", () => {
    const g = makeGrids(9);
    const frames = Array.from({ length: 16 }, (_, f) => rgbOf(frame(g, 256, 256, 13 * f, 7 * f)));
    const t0 = performance.now();
    const { trajectory } = detectVideoPeaks({ frames, width: 256, height: 256, fps: 8, order: "rgb" });
    const ms = performance.now() - t0;
    console.log(
      `Farnebäck trajectory, 16 frames 256×256: ${ms.toFixed(0)} ms (${(ms / 15).toFixed(1)} ms per pair)`,
    );
    expect(trajectory.length).toBe(16);
  });
});
