/**
 * The studio's "Load demo" inputs (demo-media.ts): each task's file is deterministic, and the media worker's own
 * decoders (media/decode.ts, on the native ffmpeg here) turn it into what the task's input slot takes — the
 * clip's 16 frames of 64×64 at 8 fps (v2a), its key frame (i2a), its 2 s of 16-kHz sound (a2v).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { decodeAudio, decodeImage, decodeVideo } from "../media/decode.js";
import { mux } from "../media/mux.js";
import { NativeFfmpegSession } from "../media/native.js";
import { keyFrame, worldClip } from "./clip.js";
import { type DemoMedia, demoMedia } from "./demo-media.js";
import { WORLD_DEMOS, type WorldDemoTask } from "./demos.js";
import { WORLD } from "./spec.js";

const hasFfmpeg = await promisify(execFile)("ffmpeg", ["-version"]).then(
  () => true,
  () => false,
);
const demo = (t: WorldDemoTask) => WORLD_DEMOS.find((d) => d.task === t)!;
const bytesOf = (m: DemoMedia | null) =>
  m === null ? null : Buffer.from(m.kind === "video" ? m.frames.data : m.bytes);
const ff = new NativeFfmpegSession();
afterAll(() => ff.close());

describe("world demo inputs", () => {
  it("are the same bytes every time, one file per task with an input (none for joint)", () => {
    for (const d of WORLD_DEMOS) {
      const t0 = performance.now();
      const a = demoMedia(d);
      const ms = performance.now() - t0;
      const b = demoMedia(d);
      const [x, y] = [bytesOf(a), bytesOf(b)];
      expect(x === y || (x !== null && y !== null && x.equals(y)), d.task).toBe(true);
      expect(a?.kind ?? null, d.task).toBe(d.input?.kind ?? null);
      if (a) expect(a.name).toBe(d.input!.path.split("/").pop());
      // made on the studio's main thread: a few ms warm; generous for a cold JIT on a loaded 2-core box
      expect(ms, d.task).toBeLessThan(1000);
    }
    expect(demoMedia(demo("joint"))).toBeNull();
  });

  it.skipIf(!hasFfmpeg)("a2v: a WAV that decodes to the clip's 2 s of 16-kHz mono sound", async () => {
    const m = demoMedia(demo("a2v"))!;
    if (m.kind === "video") throw new Error("a2v's demo is audio");
    const a = await decodeAudio(ff, m.name, m.bytes, { durationS: 2 });
    const clip = worldClip(demo("a2v").clipSeed);
    expect(a.sampleRate).toBe(WORLD.sampleRate);
    expect(a.channels.length).toBe(1);
    expect(a.channels[0]!.length).toBe(WORLD.sampleRate * WORLD.durationS);
    expect(a.durationS).toBeCloseTo(WORLD.durationS, 3);
    let worst = 0;
    for (let i = 0; i < clip.audio.length; i++)
      worst = Math.max(worst, Math.abs(a.channels[0]![i]! - clip.audio[i]!));
    expect(worst).toBeLessThan(2 / 32768); // 16-bit PCM
  });

  it.skipIf(!hasFfmpeg)("i2a: a PNG that decodes to the clip's key frame, pixel for pixel", async () => {
    const m = demoMedia(demo("i2a"))!;
    if (m.kind === "video") throw new Error("i2a's demo is an image");
    expect(m.mimeType).toBe("image/png");
    const img = await decodeImage(ff, m.name, m.bytes);
    const k = keyFrame(worldClip(demo("i2a").clipSeed));
    expect([img.width, img.height]).toEqual([WORLD.width, WORLD.height]);
    expect(img.info.still).toBe(true);
    expect(Buffer.from(img.data).equals(Buffer.from(k.data))).toBe(true);
  });

  it.skipIf(!hasFfmpeg)(
    "v2a: frames the mux job encodes to an MP4 of the clip's 16 frames at 8 fps",
    async () => {
      const m = demoMedia(demo("v2a"))!;
      if (m.kind !== "video") throw new Error("v2a's demo is a video");
      const encode = () => mux(ff, { video: m.frames, audioWav: null, format: "mp4" });
      const mp4 = await encode();
      expect(mp4.mimeType).toBe(m.mimeType);
      expect(Buffer.from((await encode()).bytes).equals(Buffer.from(mp4.bytes))).toBe(true);
      // the studio asks for the V2A window (10 s when the form leaves the length to the video): the whole clip
      const v = await decodeVideo(ff, m.name, mp4.bytes, { startS: 0, durationS: 10 });
      expect(v).toMatchObject({
        numFrames: WORLD.fps * WORLD.durationS,
        width: WORLD.width,
        height: WORLD.height,
        fps: WORLD.fps,
        scaledFrom: null,
      });
      expect(v.durationS).toBeCloseTo(WORLD.durationS, 2);
      expect(v.info.audio).toBeNull();
      // H.264 (yuv420p) is lossy: the picture is the clip's within a few levels on average
      const clip = worldClip(demo("v2a").clipSeed);
      let sum = 0;
      for (let i = 0; i < v.data.length; i++) sum += Math.abs(v.data[i]! - clip.video.data[i]!);
      expect(sum / v.data.length).toBeLessThan(8);
    },
  );
});
