/**
 * The WebCodecs video/audio path without a browser: its frame plan against the system ffmpeg's `-ss/-t/fps`
 * (decode.ts through NativeFfmpegSession, the same commands ffmpeg.wasm runs), its YUV → RGB against swscale, its
 * area scaling against `scale=…:flags=area`, and the choice between WebCodecs and ffmpeg.wasm with fake decoders.
 * The real VideoDecoder/AudioDecoder run in e2e/decode.e2e.ts.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hasFfmpeg } from "../../../test/support/system-ffmpeg.js";
import { BadInputError, CancelledError } from "../errors.js";
import { type DecodedAudio, type DecodedVideo, decodeVideo } from "./decode.js";
import { demux } from "./demux.js";
import { NativeFfmpegSession } from "./native.js";
import {
  type AudioDataLike,
  areaScaleRgb,
  type ChunkInit,
  decodeAudioPreferWebCodecs,
  decodeVideoPreferWebCodecs,
  planFrames,
  printedFps,
  type VideoFrameLike,
  type WebCodecsAv,
  yuvToRgba,
} from "./webcodecs-av.js";

const ff = (...args: string[]) =>
  execFileSync("ffmpeg", ["-v", "error", "-y", ...args], { maxBuffer: 1 << 28 });

describe("planFrames", () => {
  const cfr = (n: number, fps: number) =>
    Array.from({ length: n }, (_, i) => [Math.round((i * 1e6) / fps), Math.round(1e6 / fps)] as const);

  it("keeps every frame of a constant-rate stream, and trims by frame start", () => {
    const p = planFrames(cfr(16, 8), 8);
    expect(p.count).toBe(16);
    expect([...p.ticks.values()].flat()).toEqual([...Array(16).keys()]);
    const t = planFrames(cfr(16, 8), 8, 0.5, 1);
    expect(t.count).toBe(8);
    expect(t.ticks.get(500_000)).toEqual([0]); // frame 4 opens the trim
  });

  it("repeats a frame that lasts two ticks and drops one whose successor is already due", () => {
    const frames = [
      [0, 100_000],
      [100_000, 200_000],
      [300_000, 10_000],
      [310_000, 90_000],
    ] as const;
    const p = planFrames(frames, 10);
    expect(p.count).toBe(4);
    expect([...p.ticks.entries()]).toEqual([
      [0, [0]],
      [100_000, [1, 2]],
      [310_000, [3]],
    ]);
  });

  it("prints frame rates as ffmpeg does", () => {
    expect([printedFps(30000 / 1001), printedFps(25), printedFps(8.333333), printedFps(0.001)]).toEqual([
      29.97, 25, 8.33, 0.001,
    ]);
  });
});

describe.skipIf(!hasFfmpeg)("against the system ffmpeg", () => {
  let dir = "";
  let session: NativeFfmpegSession;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "webcodecs-av-"));
    session = new NativeFfmpegSession();
  });
  afterAll(async () => {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the frame plan picks ffmpeg's frames (-ss/-t/fps) on constant and variable frame rates", async () => {
    const files: Record<string, string[]> = {
      "cfr.mp4": [
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=32x24:rate=10",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-bf",
        "2",
      ],
      // irregular gaps: avg fps 8.xx, so fps=F resamples (repeats and drops frames)
      "vfr.mp4": [
        ...["-f", "lavfi", "-i", "testsrc=size=32x24:rate=10", "-t", "2", "-c:v", "libx264", "-vsync", "vfr"],
        ...["-vf", "setpts='(N*0.1+gt(N,4)*0.05+gt(N,9)*0.13+gt(N,13)*0.02)/TB'"],
      ],
      "vp8.webm": ["-f", "lavfi", "-i", "testsrc=size=32x24:rate=12", "-t", "2", "-c:v", "libvpx"],
    };
    const report: string[] = [];
    for (const [name, args] of Object.entries(files)) {
      ff(...args, "-pix_fmt", "yuv420p", join(dir, name));
      const bytes = new Uint8Array(readFileSync(join(dir, name)));
      const track = demux(bytes, name).tracks[0]!;
      if (track.kind !== "video") throw new Error("no video");
      // every frame once, in presentation order, decoded by ffmpeg itself
      const all = ff(
        "-i",
        join(dir, name),
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
      );
      const fb = track.codedWidth * track.codedHeight * 3;
      const sorted = track.chunks.map((c) => c.timestampUs).sort((a, b) => a - b);
      expect(all.length / fb).toBe(sorted.length);
      for (const trim of [{}, { startS: 0.35, durationS: 0.8 }, { startS: 0.5 }, { durationS: 1.23 }]) {
        const ref = await decodeVideo(session, name, bytes.slice(), trim);
        const fps = printedFps(track.fps!);
        const plan = planFrames(
          track.chunks.map((c) => [c.timestampUs, c.durationUs] as const),
          fps,
          trim.startS,
          trim.durationS,
        );
        report.push(
          `${name} ${JSON.stringify(trim)}: ffmpeg ${ref.numFrames} @ ${ref.fps}, plan ${plan.count}`,
        );
        expect(fps).toBe(ref.fps);
        expect(plan.count, `${name} ${JSON.stringify(trim)}`).toBe(ref.numFrames);
        const mine = new Uint8Array(ref.data.length);
        for (const [ts, ticks] of plan.ticks) {
          const i = sorted.indexOf(ts);
          for (const k of ticks) mine.set(all.subarray(i * fb, (i + 1) * fb), k * fb);
        }
        expect(
          Buffer.compare(Buffer.from(mine), Buffer.from(ref.data)),
          `${name} ${JSON.stringify(trim)}`,
        ).toBe(0);
      }
    }
    console.info(report.join("\n"));
  });

  it("YUV 4:2:0 → RGB matches swscale's unscaled conversion within a level or two (BT.601 and BT.709)", () => {
    const [w, h] = [64, 48];
    const yuv = ff(
      "-f",
      "lavfi",
      "-i",
      `testsrc=size=${w}x${h}`,
      "-frames:v",
      "1",
      "-pix_fmt",
      "yuv420p",
      "-f",
      "rawvideo",
      "-",
    );
    const layouts = [
      { offset: 0, stride: w },
      { offset: w * h, stride: w / 2 },
      { offset: w * h + (w * h) / 4, stride: w / 2 },
    ];
    for (const matrix of ["bt601", "bt709"] as const) {
      const ref = execFileSync(
        "ffmpeg",
        [
          ...["-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${w}x${h}`, "-i", "-"],
          ...[
            "-vf",
            `scale=in_color_matrix=${matrix}:in_range=tv`,
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
          ],
        ],
        { input: yuv },
      );
      const rgba = new Uint8Array(w * h * 4);
      yuvToRgba(yuv, layouts, w, h, { sx: 1, sy: 1, interleaved: false }, matrix, false, rgba);
      let sum = 0;
      let max = 0;
      for (let i = 0; i < w * h; i++)
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(rgba[i * 4 + c]! - ref[i * 3 + c]!);
          sum += d;
          max = Math.max(max, d);
        }
      console.info(`yuvToRgba ${matrix} vs swscale: mean |Δ| ${(sum / (w * h * 3)).toFixed(3)}, max ${max}`);
      expect(sum / (w * h * 3)).toBeLessThan(1);
      expect(max).toBeLessThanOrEqual(4);
    }
  });

  it("area scaling is within a level or two of ffmpeg's scale=…:flags=area", () => {
    const [w, h, W, H] = [96, 64, 34, 22];
    const src = ff(
      "-f",
      "lavfi",
      "-i",
      `testsrc=size=${w}x${h}`,
      "-frames:v",
      "1",
      "-pix_fmt",
      "rgb24",
      "-f",
      "rawvideo",
      "-",
    );
    const ref = execFileSync(
      "ffmpeg",
      [
        ...["-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${w}x${h}`, "-i", "-"],
        ...["-vf", `scale=${W}:${H}:flags=area`, "-pix_fmt", "rgb24", "-f", "rawvideo", "-"],
      ],
      { input: src },
    );
    const mine = areaScaleRgb(src, w, h, W, H);
    let sum = 0;
    for (let i = 0; i < mine.length; i++) sum += Math.abs(mine[i]! - ref[i]!);
    console.info(`areaScaleRgb vs swscale area: mean |Δ| ${(sum / mine.length).toFixed(3)}`);
    expect(sum / mine.length).toBeLessThan(3);
  });
});

// --- the choice, with fake decoders --------------------------------------------------------------------------

/** A tiny MP4 with one H.264 track (the demuxer is real; the decoder is a fake). */
let mp4: Uint8Array | null = null;
let m4a: Uint8Array | null = null;
function files() {
  if (!mp4) {
    const dir = mkdtempSync(join(tmpdir(), "webcodecs-av-fake-"));
    ff(
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=8x4:rate=10",
      "-t",
      "0.5",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      join(dir, "a.mp4"),
    );
    ff("-f", "lavfi", "-i", "sine=r=8000", "-t", "0.5", "-c:a", "aac", join(dir, "a.m4a"));
    mp4 = new Uint8Array(readFileSync(join(dir, "a.mp4")));
    m4a = new Uint8Array(readFileSync(join(dir, "a.m4a")));
    rmSync(dir, { recursive: true, force: true });
  }
  return { mp4: mp4!, m4a: m4a! };
}

interface FakeOpts {
  supported?: boolean;
  failAt?: number;
  /** Y, U, V levels of every frame. */
  yuv?: [number, number, number];
}

/** WebCodecs fakes: frames are flat I420 pictures, audio is a ramp of 1024-sample blocks. */
function fakeAv(opts: FakeOpts = {}): WebCodecsAv & { configs: unknown[]; closed: number } {
  const fake = { configs: [] as unknown[], closed: 0 } as WebCodecsAv & {
    configs: unknown[];
    closed: number;
  };
  class Chunk {
    constructor(readonly init: ChunkInit) {}
  }
  const decoder = <O>(make: (c: ChunkInit, i: number) => O) =>
    class {
      static isConfigSupported = async () => ({ supported: opts.supported ?? true });
      decodeQueueSize = 0;
      private n = 0;
      private pending: Promise<void> = Promise.resolve();
      constructor(private readonly init: { output: (o: O) => void; error: (e: Error) => void }) {}
      configure(c: unknown) {
        fake.configs.push(c);
      }
      decode(chunk: unknown) {
        const c = (chunk as Chunk).init;
        const i = this.n++;
        this.pending = this.pending.then(() => {
          if (i === opts.failAt) this.init.error(new Error("EncodingError: decoding failed"));
          else this.init.output(make(c, i));
        });
      }
      flush() {
        return this.pending;
      }
      close() {
        fake.closed++;
      }
    };
  const [Y, U, V] = opts.yuv ?? [126, 128, 128];
  fake.VideoDecoder = decoder<VideoFrameLike>((c) => ({
    format: "I420",
    timestamp: c.timestamp,
    visibleRect: { width: 8, height: 4 },
    codedWidth: 8,
    codedHeight: 4,
    colorSpace: { matrix: "bt709", fullRange: false },
    allocationSize: () => 48,
    copyTo: async (dest) => {
      dest.fill(Y, 0, 32);
      dest.fill(U, 32, 40);
      dest.fill(V, 40, 48);
      return [
        { offset: 0, stride: 8 },
        { offset: 32, stride: 4 },
        { offset: 40, stride: 4 },
      ];
    },
    close: () => undefined,
  })) as WebCodecsAv["VideoDecoder"];
  fake.AudioDecoder = decoder<AudioDataLike>((c, i) => ({
    numberOfFrames: 1024,
    numberOfChannels: 1,
    sampleRate: 8000,
    timestamp: c.timestamp,
    copyTo: (dest) => dest.fill(i),
    close: () => undefined,
  })) as WebCodecsAv["AudioDecoder"];
  fake.EncodedVideoChunk = Chunk;
  fake.EncodedAudioChunk = Chunk;
  return fake;
}

const FFMPEG_VIDEO = { numFrames: 1, fps: 1 } as DecodedVideo;
const FFMPEG_AUDIO = { sampleRate: 1 } as DecodedAudio;

function choice<T>(
  av: WebCodecsAv | undefined,
  result: T,
  extra: { signal?: AbortSignal; prefer?: "auto" | "ffmpeg.wasm" } = {},
) {
  const ffmpeg = vi.fn(async () => result);
  const logs: string[] = [];
  const progress: number[] = [];
  return {
    ffmpeg,
    logs,
    progress,
    opts: {
      ...extra,
      ffmpeg,
      ...(av ? { webCodecs: av } : { webCodecs: {} }),
      log: (l: string, m: string) => logs.push(`${l}: ${m}`),
      onProgress: (r: number) => progress.push(r),
    },
  };
}

describe.skipIf(!hasFfmpeg)("decodeVideoPreferWebCodecs / decodeAudioPreferWebCodecs", () => {
  it("decodes video through WebCodecs: the ffmpeg frame plan, BT.601 for an unsignalled stream (not the frame's BT.709)", async () => {
    const av = fakeAv({ yuv: [126, 128, 128 + 50] });
    const c = choice(av, FFMPEG_VIDEO);
    const v = await decodeVideoPreferWebCodecs("a.mp4", files().mp4, {}, c.opts);
    expect(c.ffmpeg).not.toHaveBeenCalled();
    expect([v.decoder, v.fallback, v.numFrames, v.width, v.height, v.fps, v.durationS]).toEqual([
      "webcodecs",
      null,
      5,
      8,
      4,
      10,
      0.5,
    ]);
    expect(v.info).toMatchObject({
      format: "mov,mp4,m4a,3gp,3g2,mj2",
      durationS: 0.5,
      video: { codec: "h264", fps: 10 },
    });
    expect(av.configs[0]).toMatchObject({ codec: "avc1.64000A", codedWidth: 8, codedHeight: 4 });
    // Y 126, V +50: BT.601 limited gives R = 1.164·110 + 1.596·50 ≈ 207.8 (BT.709 would give 200)
    expect(Array.from(v.data.subarray(0, 3))).toEqual([208, 87, 128]);
    // one progress report per placed frame: k/5
    expect(c.progress).toEqual([1, 2, 3, 4, 5].map((k) => k / 5));
    const t = await decodeVideoPreferWebCodecs("a.mp4", files().mp4, { startS: 0.2, durationS: 0.2 }, c.opts);
    expect(t.numFrames).toBe(2);
  });

  it("falls back to ffmpeg.wasm with the reason: unsupported config, decoder error, no WebCodecs, not MP4/WebM", async () => {
    const unsupported = choice(fakeAv({ supported: false }), FFMPEG_VIDEO);
    const a = await decodeVideoPreferWebCodecs("a.mp4", files().mp4, {}, unsupported.opts);
    expect([a.decoder, a.fallback]).toEqual([
      "ffmpeg.wasm",
      expect.stringMatching(/does not decode avc1\.64000A/),
    ]);
    const failing = choice(fakeAv({ failAt: 2 }), FFMPEG_VIDEO);
    const b = await decodeVideoPreferWebCodecs("a.mp4", files().mp4, {}, failing.opts);
    expect(b.fallback).toMatch(/EncodingError/);
    expect(failing.logs).toEqual([
      expect.stringMatching(/^warn: "a\.mp4": WebCodecs could not decode the video/),
    ]);
    const none = choice(undefined, FFMPEG_VIDEO);
    const c = await decodeVideoPreferWebCodecs("a.mp4", files().mp4, {}, none.opts);
    expect([c.decoder, c.fallback, none.logs]).toEqual([
      "ffmpeg.wasm",
      null,
      [expect.stringMatching(/VideoDecoder is not available/)],
    ]);
    const wav = choice(fakeAv(), FFMPEG_AUDIO);
    const d = await decodeAudioPreferWebCodecs(
      "a.wav",
      new TextEncoder().encode("RIFF....WAVEfmt "),
      {},
      wav.opts,
    );
    expect([d.decoder, wav.logs]).toEqual(["ffmpeg.wasm", [expect.stringMatching(/not an MP4, MOV, WebM/)]]);
    const cut = choice(fakeAv(), FFMPEG_VIDEO);
    const e = await decodeVideoPreferWebCodecs("a.mp4", files().mp4.subarray(0, 900), {}, cut.opts);
    expect(e.fallback).toMatch(/damaged MP4/);
    const forced = choice(fakeAv(), FFMPEG_VIDEO, { prefer: "ffmpeg.wasm" });
    expect((await decodeVideoPreferWebCodecs("a.mp4", files().mp4, {}, forced.opts)).decoder).toBe(
      "ffmpeg.wasm",
    );
  });

  it("a trim outside the file and a cancellation end the job instead of falling back", async () => {
    const c = choice(fakeAv(), FFMPEG_VIDEO);
    await expect(decodeVideoPreferWebCodecs("a.mp4", files().mp4, { startS: 3 }, c.opts)).rejects.toThrow(
      BadInputError,
    );
    const ac = new AbortController();
    ac.abort();
    const d = choice(fakeAv(), FFMPEG_VIDEO, { signal: ac.signal });
    await expect(decodeVideoPreferWebCodecs("a.mp4", files().mp4, {}, d.opts)).rejects.toThrow(
      CancelledError,
    );
    expect(c.ffmpeg).not.toHaveBeenCalled();
  });

  it("decodes audio: the priming before 0 dropped, the trim cut to the sample, the edit list's end kept", async () => {
    const av = fakeAv();
    const c = choice(av, FFMPEG_AUDIO);
    const a = await decodeAudioPreferWebCodecs("a.m4a", files().m4a, {}, c.opts);
    expect([a.decoder, a.sampleRate, a.channels.length, a.channels[0]!.length]).toEqual([
      "webcodecs",
      8000,
      1,
      4000,
    ]);
    // block i of the fake holds the value i: block 0 (priming, 1024 samples before 0) is gone
    expect([a.channels[0]![0], a.channels[0]![1023], a.channels[0]![1024]]).toEqual([1, 1, 2]);
    expect(av.configs[0]).toMatchObject({ codec: "mp4a.40.2", sampleRate: 8000, numberOfChannels: 1 });
    // the share of the range decoded, as blocks arrive: 0 while only priming is out, rising, ending at 1
    expect(c.progress.length).toBeGreaterThan(2);
    expect(c.progress[0]).toBe(0);
    expect(c.progress.at(-1)).toBe(1);
    expect(c.progress.every((r, i) => i === 0 || r >= c.progress[i - 1]!)).toBe(true);
    const t = await decodeAudioPreferWebCodecs(
      "a.m4a",
      files().m4a,
      { startS: 0.25, durationS: 0.125 },
      c.opts,
    );
    // 0.25 s = sample 2000 = block 1 + 976 (of the unprimed timeline); the fake's blocks restart at the first fed chunk
    expect(t.channels[0]!.length).toBe(1000);
  });
});
