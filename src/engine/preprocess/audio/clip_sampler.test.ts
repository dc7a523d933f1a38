/**
 * pytorchvideo ConstantClipsPerVideoSampler with Python Fraction semantics, and the index rules built on it.
 * Fixture-recorded ranges are checked in imagebind_audio.test.ts / imagebind_video.test.ts; here: Fraction
 * arithmetic, SPEC B.3 (a 10-s AudioLDM output), edge cases of the sampler and the decord frame rule.
 */
import { describe, expect, it } from "vitest";
import { BadInputError } from "../../errors.js";
import {
  audioClipRanges,
  constantClipsPerVideo,
  decordClipFrames,
  uniformTemporalSubsample,
} from "./clip_sampler.js";
import { Fraction } from "./fraction.js";

describe("Fraction (Python fractions semantics)", () => {
  it("fromFloat is the exact binary value of the double", () => {
    expect(Fraction.fromFloat(0.1).toString()).toBe("3602879701896397/36028797018963968");
    expect(Fraction.fromFloat(2.5).toString()).toBe("5/2");
    expect(Fraction.fromFloat(-0.75).toString()).toBe("-3/4");
    expect(Fraction.fromFloat(0).toString()).toBe("0");
    expect(Fraction.fromFloat(2 ** 60).toString()).toBe(`${2n ** 60n}`);
    expect(Fraction.fromFloat(5e-324).den).toBe(2n ** 1074n);
  });

  it("toFloat is correctly rounded (ties to even) and round-trips every double", () => {
    for (const v of [0.1, 1 / 3, 9.002 / 9, 1e-300, 123456.789, -2.5e10, Math.PI, 10.24 - 1])
      expect(Fraction.fromFloat(v).toFloat()).toBe(v);
    expect(new Fraction(1n, 3n).toFloat()).toBe(1 / 3);
    expect(new Fraction(2n ** 53n + 1n).toFloat()).toBe(2 ** 53); // tie → even
    expect(new Fraction(2n ** 53n + 3n).toFloat()).toBe(2 ** 53 + 4); // tie → even
    expect(new Fraction(2n ** 54n + 3n, 2n).toFloat()).toBe(2 ** 53 + 2); // (2^54+3)/2 = 2^53 + 1.5 → up
    expect(new Fraction(10n ** 30n + 1n, 10n ** 30n).toFloat()).toBe(1);
  });

  it("int() truncates toward zero; arithmetic stays exact", () => {
    expect(new Fraction(7n, 2n).trunc()).toBe(3);
    expect(new Fraction(-7n, 2n).trunc()).toBe(-3);
    const u = Fraction.fromFloat(0.1).div(3);
    expect(u.mul(3).cmp(Fraction.fromFloat(0.1))).toBe(0);
    expect(new Fraction(1n, 6n).add(new Fraction(1n, 3n)).toString()).toBe("1/2");
    expect(new Fraction(6n, -4n).toString()).toBe("-3/2");
  });
});

describe("ConstantClipsPerVideoSampler", () => {
  it("SPEC B.3: a 10-s AudioLDM output (160032 samples) gives the tabulated 16000-sample clips", () => {
    const r = audioClipRanges(160032, 16000, 1, 10);
    expect(r.length).toBe(10);
    expect(r.map((c) => c.start)).toEqual([
      0, 16003, 32007, 48010, 64014, 80017, 96021, 112024, 128028, 144032,
    ]);
    for (const c of r) expect(c.end - c.start).toBe(16000);
  });

  it("D = 10.0, S = 10 → [0,1], [1,2], …, [9,10] (SPEC §3.6 step 2)", () => {
    const c = constantClipsPerVideo(10, 1, 10);
    expect(c.map((x) => [x.start.toString(), x.end.toString()])).toEqual(
      Array.from({ length: 10 }, (_, k) => [`${k}`, `${k + 1}`]),
    );
  });

  it("duration ≤ clip duration: every clip is [0, clip]; the audio slice clamps to the length", () => {
    const c = constantClipsPerVideo(0.5, 1, 3);
    expect(c.map((x) => [x.start.toString(), x.end.toString()])).toEqual([
      ["0", "1"],
      ["0", "1"],
      ["0", "1"],
    ]);
    expect(audioClipRanges(8000, 16000, 1, 2)).toEqual([
      { start: 0, end: 8000 },
      { start: 0, end: 8000 },
    ]);
  });

  it("S = 1 gives one clip at 0; upstream ImageBind defaults (2 s, 3 clips) on a 5-s file", () => {
    expect(constantClipsPerVideo(7.3, 1, 1).map((x) => x.start.toString())).toEqual(["0"]);
    const r = audioClipRanges(80000, 16000, 2, 3);
    expect(r).toEqual([
      { start: 0, end: 32000 },
      { start: 24000, end: 56000 },
      { start: 48000, end: 80000 },
    ]);
  });

  it("starts are built from the float max(D − clip, 0), not from the decimal value", () => {
    // D = 10.24 − 1 is not representable: the Fraction carries the double's exact value
    const c = constantClipsPerVideo(163840 / 16000, 1, 11);
    expect(c[10].start.cmp(Fraction.fromFloat(163840 / 16000 - 1))).toBe(0);
    expect(c[1].start.den % 5n).toBe(0n); // not a dyadic: the division by 10 is exact
  });

  it("decord frames: range(ceil(fps·start), min(ceil(fps·end), T)) in double arithmetic", () => {
    const [c0, c1] = constantClipsPerVideo(20 / 8, 1, 3);
    expect(decordClipFrames(c0, 8, 20)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(decordClipFrames(c1, 8, 20)).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    // 29.97 fps: float(start)·fps, then ceil
    const fps = 30000 / 1001;
    const clips = constantClipsPerVideo(300 / fps, 1, 11);
    const last = decordClipFrames(clips[10], fps, 300);
    expect(last[last.length - 1]).toBe(299);
    expect(last[0]).toBe(Math.ceil(fps * clips[10].start.toFloat()));
  });

  it("UniformTemporalSubsample(2) picks the first and last frame; n > t repeats (nearest)", () => {
    expect(uniformTemporalSubsample(8, 2)).toEqual([0, 7]);
    expect(uniformTemporalSubsample(1, 2)).toEqual([0, 0]);
    expect(uniformTemporalSubsample(3, 5)).toEqual([0, 0, 1, 1, 2]);
    expect(uniformTemporalSubsample(10, 4)).toEqual([0, 3, 6, 9]);
  });

  it("rejects bad arguments with BadInputError", () => {
    expect(() => constantClipsPerVideo(Number.NaN, 1, 3)).toThrow(BadInputError);
    expect(() => constantClipsPerVideo(3, 0, 3)).toThrow(BadInputError);
    expect(() => constantClipsPerVideo(3, 1, 0)).toThrow(BadInputError);
    expect(() => audioClipRanges(0, 16000, 1, 1)).toThrow(BadInputError);
  });
});
