/**
 * The studio's world demo presets (demos.ts) against the world and the shipped assets in public/demos/world:
 * each names a held-out clip whose caption it repeats, fills in the evaluation's prompt for its task, and its
 * condition file holds that clip (the a2v WAV sample by sample).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeWav } from "../media/wav.js";
import { worldClip } from "./clip.js";
import { WORLD_DEMOS } from "./demos.js";
import { SPLITS, WORLD } from "./spec.js";

const asset = (p: string) => join("public", p);

describe("world demo presets", () => {
  it("name held-out clips, with their caption, the task's prompt and the shipped files", () => {
    expect(new Set(WORLD_DEMOS.map((d) => d.task))).toEqual(new Set(["v2a", "i2a", "a2v", "joint"]));
    for (const d of WORLD_DEMOS) {
      const { start, count } = SPLITS.heldOut;
      expect(d.clipSeed).toBeGreaterThanOrEqual(start);
      expect(d.clipSeed).toBeLessThan(start + count);
      const c = worldClip(d.clipSeed);
      expect(c.caption).toBe(d.caption);
      const prompt = {
        v2a: c.keyFrameCaption,
        i2a: c.keyFrameCaption,
        a2v: c.audioCaption,
        joint: c.caption,
      };
      expect(d.prompt).toBe(prompt[d.task]);
      expect(d.durationS).toBe(WORLD.durationS);
      expect(d.video).toEqual({
        frames: WORLD.fps * WORLD.durationS,
        width: WORLD.width,
        height: WORLD.height,
        fps: WORLD.fps,
      });
      for (const p of [d.reference, ...(d.input ? [d.input.path] : [])])
        expect(statSync(asset(p)).size, p).toBeGreaterThan(500);
    }
  });

  it("ship the a2v condition as the clip's own sound", () => {
    const d = WORLD_DEMOS.find((x) => x.task === "a2v")!;
    const wav = decodeWav(new Uint8Array(readFileSync(asset(d.input!.path))));
    const c = worldClip(d.clipSeed);
    expect(wav.sampleRate).toBe(c.sampleRate);
    expect(wav.channels[0].length).toBe(c.audio.length);
    let worst = 0;
    for (let i = 0; i < c.audio.length; i++)
      worst = Math.max(worst, Math.abs(wav.channels[0][i] - c.audio[i]));
    expect(worst).toBeLessThan(2 / 32768);
  });
});
