/** Input decoding through an `FfmpegSession` (the native binary here; ffmpeg.wasm in the media worker). */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadInputError } from "../errors.js";
import { decodeAudio, decodeImage, decodeVideo, parseMediaInfo, probeMedia } from "./decode.js";
import { NativeFfmpegSession } from "./native.js";

const run = promisify(execFile);
const hasFfmpeg = await run("ffmpeg", ["-version"]).then(
  () => true,
  () => false,
);

describe("parseMediaInfo", () => {
  it("reads streams and duration from ffmpeg's banner", () => {
    const info = parseMediaInfo(
      [
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':",
        "  Duration: 00:00:01.50, start: 0.000000, bitrate: 22 kb/s",
        "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 64x48 [SAR 1:1 DAR 4:3], 14 kb/s, 29.97 fps, 29.97 tbr, 16384 tbn (default)",
        "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 2 kb/s (default)",
      ].join("\n"),
    );
    expect(info).toEqual({
      format: "mov,mp4,m4a,3gp,3g2,mj2",
      durationS: 1.5,
      video: { codec: "h264", width: 64, height: 48, fps: 29.97 },
      audio: { codec: "aac", sampleRate: 44100, channels: 2 },
      still: false,
    });
  });

  it("marks images as still and counts '6 channels' layouts", () => {
    const img = parseMediaInfo(
      "Input #0, png_pipe, from 'a.png':\n  Duration: N/A, bitrate: N/A\n  Stream #0:0: Video: png, rgb24(pc), 32x24 [SAR 1:1 DAR 4:3], 25 fps, 25 tbr, 25 tbn",
    );
    expect(img?.still).toBe(true);
    expect(img?.durationS).toBeNull();
    const a = parseMediaInfo(
      "Input #0, wav, from 'x.wav':\n  Duration: 00:00:02.00, bitrate: 1 kb/s\n  Stream #0:0: Audio: pcm_f32le, 48000 Hz, 6 channels, flt",
    );
    expect(a?.audio).toEqual({ codec: "pcm_f32le", sampleRate: 48000, channels: 6 });
    expect(parseMediaInfo("garbage.mp4: Invalid data found when processing input")).toBeNull();
  });
});

describe.skipIf(!hasFfmpeg)("decoding with ffmpeg", () => {
  let dir = "";
  const ff = new NativeFfmpegSession();
  const file = (n: string) => readFile(join(dir, n)).then((b) => new Uint8Array(b));
  const make = (args: string[]) => run("ffmpeg", ["-v", "error", "-y", ...args]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "decode-"));
    await make([
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=64x48:rate=8",
      "-t",
      "2",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      join(dir, "clip.mp4"),
    ]);
    await make(["-f", "lavfi", "-i", "testsrc=size=32x24", "-frames:v", "1", join(dir, "img.png")]);
    await make(["-f", "lavfi", "-i", "sine=f=440:d=1.5", "-ar", "22050", "-ac", "2", join(dir, "tone.wav")]);
  });
  afterAll(async () => {
    await ff.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("decodes every frame of a video as RGB24 at its frame rate, and trims", async () => {
    const bytes = await file("clip.mp4");
    const v = await decodeVideo(ff, "clip.mp4", bytes);
    expect([v.numFrames, v.width, v.height, v.fps, v.durationS, v.sourceDurationS]).toEqual([
      16, 64, 48, 8, 2, 2,
    ]);
    expect(v.data.byteLength).toBe(16 * 64 * 48 * 3);
    expect(v.scaledFrom).toBeNull();
    const t = await decodeVideo(ff, "clip.mp4", bytes, { startS: 0.5, durationS: 1 });
    expect(t.numFrames).toBe(8);
    // testsrc's frame counter changes the picture every frame: frame 0 of the trim is frame 4 of the source
    expect(
      Buffer.from(t.data.subarray(0, 9216)).equals(Buffer.from(v.data.subarray(4 * 9216, 5 * 9216))),
    ).toBe(true);
  });

  it("scales frames down (aspect kept, even sizes) when they would not fit the byte budget", async () => {
    const v = await decodeVideo(ff, "clip.mp4", await file("clip.mp4"), { maxBytes: 17 * 32 * 24 * 3 });
    expect(v.scaledFrom).toEqual({ width: 64, height: 48 });
    expect([v.width, v.height, v.numFrames]).toEqual([32, 24, 16]);
  });

  it("decodes an image and audio (channels kept, source rate)", async () => {
    const img = await decodeImage(ff, "img.png", await file("img.png"));
    expect([img.width, img.height, img.data.byteLength]).toEqual([32, 24, 32 * 24 * 3]);
    const a = await decodeAudio(ff, "tone.wav", await file("tone.wav"), { durationS: 1 });
    expect(a.sampleRate).toBe(22050);
    expect(a.channels).toHaveLength(2);
    expect(a.channels[0]!.length).toBe(22050);
    expect(Math.max(...a.channels[1]!)).toBeGreaterThan(0.05);
    expect((await probeMedia(ff, "tone.wav", await file("tone.wav"))).audio?.channels).toBe(2);
  });

  it("rejects corrupt files, wrong kinds and bad trims with BadInputError messages that say what to do", async () => {
    const junk = new TextEncoder().encode("definitely not a video");
    await expect(decodeVideo(ff, "junk.mp4", junk)).rejects.toThrow(/cannot be read.*Pick another file/);
    await expect(decodeVideo(ff, "img.png", await file("img.png"))).rejects.toThrow(/Image → Audio tab/);
    await expect(decodeAudio(ff, "clip.mp4", await file("clip.mp4"))).rejects.toThrow(/no audio stream/);
    await expect(decodeVideo(ff, "clip.mp4", await file("clip.mp4"), { startS: 5 })).rejects.toThrow(
      /outside .* move it earlier/,
    );
    await expect(decodeImage(ff, "empty.png", new Uint8Array())).rejects.toBeInstanceOf(BadInputError);
  });
});
