/**
 * Issue 11 item 1, media files: real files written by the system's ffmpeg (corrupt, empty, truncated two ways,
 * unknown codecs, odd rates and channel counts, variable frame rate, alpha, EXIF rotation, huge headers) through
 * BOTH Node decoders — media/decode.ts (the code the media worker runs on ffmpeg.wasm, here on the native binary)
 * and media/native.ts (the CLI's ffprobe/ffmpeg path). A bad file is a BadInputError naming the file and saying
 * what to do; an odd-but-valid one decodes to what the engine's checks and ImageBind preprocessing accept.
 * The browser's ffmpeg.wasm runs the same matrix in e2e/reliability-inputs.e2e.ts.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadInputError } from "../../src/engine/errors.js";
import {
  checkInputSize,
  decodeAudio,
  decodeImage,
  decodeVideo,
  MAX_INPUT_BYTES,
} from "../../src/engine/media/decode.js";
import type { FfmpegHost } from "../../src/engine/media/ffmpeg.js";
import {
  decodeAudioFile,
  decodeImageFile,
  decodeVideoFile,
  NativeFfmpegSession,
} from "../../src/engine/media/native.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import { checkA2VRequest, DEFAULT_VIDEO_ALIGNER } from "../../src/engine/pipelines/a2v.js";
import { checkAudioRequest, DEFAULT_AUDIO_ALIGNER } from "../../src/engine/pipelines/audio_task.js";
import { audioToImageBindInput } from "../../src/engine/preprocess/audio/imagebind_audio.js";
import { resampleChannels } from "../../src/engine/preprocess/audio/resample.js";
import { imageToImageBindInput } from "../../src/engine/preprocess/video/imagebind_image.js";
import { mediaJobs } from "../../src/workers/media-jobs.js";
import {
  alphaTestPng,
  exifOrientation,
  pngHeaderOnly,
  rotateMp4By90,
  rotateRgbClockwise,
} from "../support/media-files.js";

const run = promisify(execFile);
const hasFfmpeg = await run("ffmpeg", ["-version"]).then(
  () => true,
  () => false,
);

let dir = "";
const ff = new NativeFfmpegSession();
const path = (n: string) => join(dir, n);
const bytes = (n: string) => readFile(path(n)).then((b) => new Uint8Array(b));
const make = (...args: string[]) => run("ffmpeg", ["-v", "error", "-y", ...args]);

/** The error a promise rejects with (or null). */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as Error,
  );

async function expectBad(p: Promise<unknown>, file: string, message: RegExp): Promise<void> {
  const err = await failure(p);
  expect(err, `${file}: expected a BadInputError`).toBeInstanceOf(BadInputError);
  expect(err!.message).toContain(file);
  expect(err!.message).toMatch(message);
}

/** VFR: 10 frames 0.04 s apart, then 10 frames 0.2 s apart; frame N is a flat gray of level 10·N + 20. */
const VFR_TIMES = Array.from({ length: 20 }, (_, n) => (n < 10 ? n * 0.04 : 0.4 + (n - 10) * 0.2));

beforeAll(async () => {
  if (!hasFfmpeg) return;
  dir = await mkdtemp(join(tmpdir(), "media-inputs-"));
  const src = [
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
  ];
  const made = await Promise.allSettled([
    make(...src, path("moov-last.mp4")),
    make(...src, "-movflags", "+faststart", path("faststart.mp4")),
    make(
      ...src.map((a) => (a === "testsrc=size=64x48:rate=8" ? "testsrc=size=128x96:rate=8" : a)),
      "-g",
      "4",
      "-movflags",
      "+faststart",
      path("faststart-big.mp4"),
    ),
    make("-f", "lavfi", "-i", "testsrc=size=32x24:rate=8", "-t", "1", "-c:v", "mpeg4", path("mpeg4.avi")),
    make("-f", "lavfi", "-i", "sine=f=440:d=1", "-ar", "8000", "-ac", "1", path("mono8k.wav")),
    make("-f", "lavfi", "-i", "sine=f=330:d=0.5", "-ar", "44100", "-ac", "6", path("six.wav")),
    make(
      "-f",
      "lavfi",
      "-i",
      "sine=f=330:d=0.5",
      "-ar",
      "44100",
      "-ac",
      "6",
      "-c:a",
      "flac",
      path("six.flac"),
    ),
    make(
      "-f",
      "lavfi",
      "-i",
      "sine=f=440:d=1",
      "-ar",
      "11025",
      "-ac",
      "2",
      "-c:a",
      "libmp3lame",
      path("odd.mp3"),
    ),
    make("-f", "lavfi", "-i", "testsrc=size=32x24", "-frames:v", "1", path("still.png")),
    make("-f", "lavfi", "-i", "testsrc=size=16x8", "-frames:v", "1", path("plain.jpg")),
    make(
      "-f",
      "lavfi",
      "-i",
      "color=c=black:s=16x16:r=25:d=0.8,geq=lum='10*N+20':cb=128:cr=128",
      "-vf",
      `setpts='(${VFR_TIMES.map((t, n) => `eq(N,${n})*${t}`).join("+")})/TB'`,
      "-fps_mode",
      "vfr",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      "-qp",
      "0",
      path("vfr.mp4"),
    ),
  ]);
  for (const m of made) if (m.status === "rejected") throw m.reason;
  const faststart = await bytes("faststart.mp4");
  const faststartBig = await bytes("faststart-big.mp4");
  const moovLast = await bytes("moov-last.mp4");
  const avi = await bytes("mpeg4.avi");
  const wav = await bytes("mono8k.wav");
  const seeded = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
  await Promise.all([
    writeFile(path("empty.mp4"), new Uint8Array(0)),
    writeFile(path("junk.mp4"), seeded),
    writeFile(path("hello.png"), new TextEncoder().encode("hello, I am not a picture")),
    writeFile(path("cut-moov.mp4"), moovLast.subarray(0, moovLast.length >> 1)),
    writeFile(path("cut-early.mp4"), faststart.subarray(0, Math.floor(faststart.length * 0.6))),
    writeFile(path("cut-mdat.mp4"), faststartBig.subarray(0, Math.floor(faststartBig.length * 0.6))),
    writeFile(path("fourcc.avi"), replaceAll(avi, "FMP4", "QQQQ")),
    writeFile(path("tag.wav"), withWavFormatTag(wav, 0x1234)),
    writeFile(path("exif.jpg"), exifOrientation(await bytes("plain.jpg"), 6)),
    writeFile(path("giant.png"), pngHeaderOnly(9000, 8000)),
    writeFile(path("alpha.png"), alphaTestPng()),
    writeFile(path("portrait.mp4"), rotateMp4By90(moovLast)),
  ]);
}, 120_000);

afterAll(async () => {
  await ff.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function replaceAll(b: Uint8Array, from: string, to: string): Uint8Array {
  const out = b.slice();
  const f = new TextEncoder().encode(from);
  const t = new TextEncoder().encode(to);
  for (let i = 0; i + f.length <= out.length; i++) if (f.every((x, k) => out[i + k] === x)) out.set(t, i);
  return out;
}

function withWavFormatTag(wav: Uint8Array, tag: number): Uint8Array {
  const out = wav.slice();
  const at = new TextDecoder("latin1").decode(out).indexOf("fmt ") + 8;
  new DataView(out.buffer).setUint16(at, tag, true);
  return out;
}

describe.skipIf(!hasFfmpeg)(
  "bad media files: a BadInputError that names the file and says what to do",
  () => {
    // [file, decoder, message] through media/decode.ts (the media worker's code)
    const decodeCases: [string, "video" | "image" | "audio", RegExp][] = [
      ["empty.mp4", "video", /is empty: pick another file/],
      ["empty.mp4", "audio", /is empty/],
      ["junk.mp4", "video", /cannot be read: it is corrupt or not a media file\. Pick another file/],
      ["hello.png", "image", /cannot be read/],
      ["cut-moov.mp4", "video", /cannot be read: it is corrupt/],
      [
        "cut-early.mp4",
        "video",
        /could not be decoded \(ffmpeg exit 1\): the file is damaged or incomplete\. Re-download/,
      ],
      [
        "cut-mdat.mp4",
        "video",
        /is damaged: only [\d.]+ s of its 2\.00 s could be decoded\. Re-download or re-export/,
      ],
      [
        "fourcc.avi",
        "video",
        /uses a video codec the studio cannot decode \(QQQQ[^)]*\): convert it to H\.264 MP4/,
      ],
      [
        "tag.wav",
        "audio",
        /uses an audio codec the studio cannot decode.*: convert it to WAV, MP3, AAC or Opus/,
      ],
      ["still.png", "video", /is a still image, not a video: use the Image → Audio tab/],
      ["mono8k.wav", "video", /has no video stream: pick a video file/],
      ["mono8k.wav", "image", /has no picture/],
      ["moov-last.mp4", "audio", /has no audio stream/],
      ["giant.png", "image", /is 9000×8000, over the 67,108,864-pixel limit: use a smaller image/],
    ];
    it.each(decodeCases)("decode.ts: %s as %s", async (file, kind, message) => {
      const data = await bytes(file);
      const copy = data.slice();
      const p =
        kind === "video"
          ? decodeVideo(ff, file, data)
          : kind === "image"
            ? decodeImage(ff, file, data)
            : decodeAudio(ff, file, data);
      await expectBad(p, file, message);
      expect(data).toEqual(copy); // the caller's bytes are untouched
    });

    const nativeCases: [string, "video" | "image" | "audio", RegExp][] = [
      ["empty.mp4", "video", /ffprobe could not read .*empty\.mp4/],
      ["junk.mp4", "video", /ffprobe could not read .*junk\.mp4/],
      ["cut-moov.mp4", "video", /moov atom not found/],
      ["cut-early.mp4", "video", /ffmpeg could not read .*cut-early\.mp4 \(exit 1\)/],
      ["cut-mdat.mp4", "video", /is damaged: only [\d.]+ s of its 2\.00 s could be decoded; re-download/],
      [
        "fourcc.avi",
        "video",
        /uses a video codec ffmpeg cannot decode \(QQQQ\): convert it to H\.264 MP4 or WebM/,
      ],
      ["tag.wav", "audio", /uses an audio codec ffmpeg cannot decode.*: convert it to WAV, MP3, AAC or Opus/],
      ["mono8k.wav", "video", /has no video stream/],
      ["moov-last.mp4", "audio", /has no audio stream/],
      ["hello.png", "image", /(could not read|is not an image ffmpeg can read)/],
    ];
    it.each(nativeCases)("native.ts (CLI): %s as %s", async (file, kind, message) => {
      const p =
        kind === "video"
          ? decodeVideoFile(path(file))
          : kind === "image"
            ? decodeImageFile(path(file))
            : decodeAudioFile(path(file));
      await expectBad(p, file, message);
    });

    it("refuses files over the size limit before reading them (the media worker checks File.size)", async () => {
      expect(() => checkInputSize("big.mov", MAX_INPUT_BYTES + 1)).toThrow(
        /"big\.mov" is 1024 MB; the studio decodes files up to 1024 MB: trim or re-encode it/,
      );
      expect(() => checkInputSize("ok.mov", MAX_INPUT_BYTES)).not.toThrow();
      // a File that claims 5 GB: the job refuses it without calling arrayBuffer()
      let read = false;
      class HugeFile extends Blob {
        override get size() {
          return 5 * 1024 ** 3;
        }
        override arrayBuffer(): Promise<ArrayBuffer> {
          read = true;
          return Promise.reject(new Error("read"));
        }
      }
      const host = { use: () => Promise.reject(new Error("ffmpeg must not start")) } as unknown as FfmpegHost;
      const err = await failure(
        mediaJobs(host).decode(
          { kind: "video", name: "huge.mp4", file: new HugeFile([]) },
          {
            signal: new AbortController().signal,
            emit: () => {},
            emitTransfer: () => {},
            transfer: () => {},
          },
        ),
      );
      expect(err).toBeInstanceOf(BadInputError);
      expect(err!.message).toMatch(/"huge\.mp4" is 5120 MB/);
      expect(read).toBe(false);
    });
  },
);

describe.skipIf(!hasFfmpeg)("odd but valid media decode to what the engine accepts", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  const a2v = (audio: { channels: Float32Array[]; sampleRate: number }) =>
    checkA2VRequest({
      audio,
      prompt: "",
      seed: 0,
      steps: 1,
      guidanceScale: 7.5,
      frames: 8,
      height: 64,
      width: 64,
      fps: 8,
      aligner: DEFAULT_VIDEO_ALIGNER,
      compare: false,
    });

  /** ImageBind's audio input of decoded PCM: resampled to 16 kHz with every channel kept, fbank of channel 0. */
  function imagebindAudio(a: { channels: Float32Array[]; sampleRate: number }): Float32Array {
    const r = resampleChannels(a.channels, a.sampleRate, 16000);
    const ops = new TfjsOps();
    return tf.tidy(() => {
      const wav = tf.tensor2d(r.data, [r.channels, r.length]);
      const clips = Math.max(1, Math.ceil(r.length / 16000));
      return audioToImageBindInput(ops, wav, clips).dataSync() as Float32Array;
    });
  }

  it.each([
    ["mono8k.wav", 8000, 1, 1],
    ["six.wav", 44100, 6, 0.5],
    ["six.flac", 44100, 6, 0.5],
    ["odd.mp3", 11025, 2, 1],
  ] as const)(
    "%s: %i Hz × %i channels, through both decoders, into ImageBind's audio input",
    async (file, rate, nc, seconds) => {
      const a = await decodeAudio(ff, file, await bytes(file));
      const n = await decodeAudioFile(path(file));
      for (const d of [a, n]) {
        expect(d.sampleRate).toBe(rate);
        expect(d.channels).toHaveLength(nc);
        expect(Math.abs(d.channels[0].length / rate - seconds)).toBeLessThan(0.06); // mp3 padding
        expect(d.channels.every((c) => c.every(Number.isFinite))).toBe(true);
      }
      expect(() => a2v(a)).not.toThrow();
      const input = imagebindAudio(a);
      expect(input.length).toBe(Math.ceil(seconds) * 128 * 204);
      expect(input.every(Number.isFinite)).toBe(true);
    },
  );

  it("variable frame rate: resampled to the average rate, each output frame shows the source frame on screen at its time", async () => {
    const file = "vfr.mp4";
    const v = await decodeVideo(ff, file, await bytes(file));
    const n = await decodeVideoFile(path(file));
    const duration = VFR_TIMES.at(-1)! + 0.2;
    for (const d of [v, n]) {
      // ffmpeg's average rate: 20 frames over the stream's duration (2.24 s to the last frame's start + 1/25)
      expect(d.fps).toBeGreaterThanOrEqual(20 / duration);
      expect(d.fps).toBeLessThanOrEqual(20 / 2.2);
      console.info(`VFR decoded: ${d.numFrames} frames at ${d.fps} fps`);
      expect(Math.abs(d.numFrames / d.fps - duration)).toBeLessThanOrEqual(1.5 / d.fps);
      expect(d.data.length).toBe(d.numFrames * 16 * 16 * 3);
    }
    // each decoded frame's gray level names the source frame it came from (levels read from the 20 source frames
    // decoded without any rate change); it must be the source frame nearest its time (ffmpeg's fps filter rounds
    // to the nearest timestamp), give or take one
    const raw = await run(
      "ffmpeg",
      [
        "-v",
        "error",
        "-i",
        path(file),
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
      ],
      { encoding: "buffer", maxBuffer: 1 << 24 },
    );
    const levels = Array.from(
      { length: raw.stdout.length / 768 },
      (_, n) => raw.stdout[n * 768 + (8 * 16 + 8) * 3]!,
    );
    expect(levels).toHaveLength(20);
    let mismatches = 0;
    for (let k = 0; k < v.numFrames; k++) {
      const level = v.data[(k * 256 + 8 * 16 + 8) * 3]!;
      const src = levels.reduce(
        (best, l, n) => (Math.abs(l - level) < Math.abs(levels[best]! - level) ? n : best),
        0,
      );
      const t = k / v.fps;
      const nearest = VFR_TIMES.reduce(
        (best, s, n) => (Math.abs(s - t) < Math.abs(VFR_TIMES[best]! - t) ? n : best),
        0,
      );
      if (Math.abs(src - nearest) > 1) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(() =>
      checkAudioRequest({
        task: "v2a",
        prompt: "",
        seed: 0,
        steps: 1,
        guidanceScale: 2.5,
        aligner: DEFAULT_AUDIO_ALIGNER,
        compare: false,
        video: v,
      }),
    ).not.toThrow();
  });

  it("alpha is dropped (PIL convert('RGB')): colour channels kept as stored, transparent pixels included", async () => {
    const img = await decodeImage(ff, "alpha.png", await bytes("alpha.png"));
    const nat = await decodeImageFile(path("alpha.png"));
    for (const d of [img, nat]) {
      expect([d.width, d.height]).toEqual([8, 4]);
      const px = (x: number, y: number) => Array.from(d.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
      expect(px(4, 2)).toEqual([0x33, 0x66, 0xcc]);
      expect(px(0, 1)).toEqual([255, 0, 0]);
    }
    expect(imageToImageBindInput(img).every(Number.isFinite)).toBe(true);
  });

  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
  };

  it("EXIF orientation is applied: a portrait photo (orientation 6) comes out upright, h×w, in both decoders", async () => {
    const rotated = await decodeImage(ff, "exif.jpg", await bytes("exif.jpg"));
    const plain = await decodeImage(ff, "plain.jpg", await bytes("plain.jpg"));
    const nat = await decodeImageFile(path("exif.jpg"));
    const upright = rotateRgbClockwise(plain.data, 16, 8);
    for (const d of [rotated, nat]) {
      expect([d.width, d.height]).toEqual([8, 16]);
      expect(d.data.length).toBe(8 * 16 * 3);
      expect(maxDiff(d.data, upright)).toBeLessThanOrEqual(2);
    }
    expect(imageToImageBindInput(rotated).every(Number.isFinite)).toBe(true);
  });

  it("a portrait video (90° display matrix) comes out upright, h×w, also when scaled to fit the byte budget", async () => {
    const stored = await decodeVideo(ff, "moov-last.mp4", await bytes("moov-last.mp4"));
    const turned = await decodeVideo(ff, "portrait.mp4", await bytes("portrait.mp4"));
    const nat = await decodeVideoFile(path("portrait.mp4"));
    const frame0 = rotateRgbClockwise(stored.data.subarray(0, 64 * 48 * 3), 64, 48);
    for (const d of [turned, nat]) {
      expect([d.width, d.height, d.numFrames]).toEqual([48, 64, 16]);
      expect(d.data.length).toBe(16 * 48 * 64 * 3);
      expect(maxDiff(d.data.subarray(0, 48 * 64 * 3), frame0)).toBeLessThanOrEqual(2);
    }
    const small = await decodeVideo(ff, "portrait.mp4", await bytes("portrait.mp4"), {
      maxBytes: 17 * 24 * 32 * 3,
    });
    expect([small.width, small.height, small.numFrames]).toEqual([24, 32, 16]);
    expect(small.scaledFrom).toEqual({ width: 48, height: 64 });
  });
});
