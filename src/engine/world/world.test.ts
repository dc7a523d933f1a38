import { describe, expect, it } from "vitest";
import { detectAudioPeaks } from "../metrics/av_align.js";
import { worldClip, worldLabels } from "./clip.js";
import { sampleScene } from "./scene.js";
import { COLOURS, classIndex, NUM_CLASSES, splitSeed, topKind, WORLD } from "./spec.js";

describe("procedural world", () => {
  it("is deterministic from the seed and has the declared geometry", () => {
    const a = worldClip(splitSeed("heldOut", 3));
    const b = worldClip(splitSeed("heldOut", 3));
    expect(a.caption).toBe(b.caption);
    expect(a.video.data).toEqual(b.video.data);
    expect(a.audio).toEqual(b.audio);
    expect(a.video.numFrames).toBe(WORLD.fps * WORLD.durationS);
    expect(a.video.data.length).toBe(a.video.numFrames * WORLD.width * WORLD.height * 3);
    expect(a.audio.length).toBe(WORLD.sampleRate * WORLD.durationS);
    expect(a.audio.every((v) => Math.abs(v) <= 1)).toBe(true);
    expect(worldClip(splitSeed("heldOut", 4)).caption).not.toBe("");
  });

  it("keeps events inside the clip, separated, and captions them", () => {
    for (let i = 0; i < 50; i++) {
      const s = sampleScene(splitSeed("train", i));
      expect(s.objects.length).toBeGreaterThanOrEqual(1);
      for (const o of s.objects) {
        expect(o.events.length).toBeGreaterThanOrEqual(1);
        expect(o.events.length).toBeLessThanOrEqual(4);
        for (let k = 0; k < o.events.length; k++) {
          expect(o.events[k]).toBeGreaterThan(0.2);
          expect(o.events[k]).toBeLessThan(s.durationS - 0.2);
          if (k) expect(o.events[k] - o.events[k - 1]).toBeGreaterThanOrEqual(0.34);
        }
      }
    }
    const c = worldClip(splitSeed("heldOut", 6), { objects: 2 });
    expect(c.caption).toMatch(/^a \w+ \w+ \w+ .+ and a \w+ \w+ \w+ .+$/);
    expect(c.keyFrameCaption.split(" and ").length).toBe(2);
    expect(c.classes.reduce((a, b) => a + b, 0)).toBe(2);
    expect(worldLabels().length).toBe(NUM_CLASSES);
  });

  it("starts a sound at every event (librosa onsets within 50 ms)", () => {
    for (const i of [0, 2, 5]) {
      const c = worldClip(splitSeed("heldOut", i), { objects: 1 });
      const peaks = detectAudioPeaks({ channels: c.audio, sampleRate: c.sampleRate });
      for (const e of c.onsets) expect(peaks.some((p) => Math.abs(p - e) < 0.05)).toBe(true);
    }
  });
});

describe("topKind", () => {
  it("sums a kind's colours: many weak drum classes outweigh the single strongest bell class", () => {
    const p = new Float32Array(NUM_CLASSES);
    p[classIndex("bell", "red")] = 0.3;
    for (const c of COLOURS) p[classIndex("drum", c)] = 0.1;
    expect(topKind(p)).toBe("drum");
    p[classIndex("bell", "blue")] = 0.35;
    expect(topKind(p)).toBe("bell");
  });
});
