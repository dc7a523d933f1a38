import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMp4, parseWebm } from "../../../e2e/support/containers.js";
import { BadInputError, CancelledError } from "../errors.js";
import { containers, type FfmpegSession, type MuxRequest, mux } from "./mux.js";
import { movingBarFrames, tone } from "./signals.js";
import { encodeWav } from "./wav.js";

/** Records what mux asks of ffmpeg; `exec` answers with `code` and writes a fake output file. */
class FakeFfmpeg implements FfmpegSession {
  files = new Map<string, Uint8Array>();
  calls: string[][] = [];
  constructor(
    private readonly code = 0,
    private readonly onExec?: () => void,
  ) {}
  async writeFile(path: string, data: Uint8Array) {
    this.files.set(path, data);
  }
  async readFile(path: string) {
    const f = this.files.get(path);
    if (!f) throw new Error(`no such file ${path}`);
    return f;
  }
  async deleteFile(path: string) {
    this.files.delete(path);
  }
  async exec(args: readonly string[]) {
    this.calls.push([...args]);
    this.onExec?.();
    if (this.code === 0) this.files.set(args[args.length - 1]!, Uint8Array.from([1, 2, 3]));
    return this.code;
  }
  logTail() {
    return "Error while opening encoder";
  }
}

const W = 64;
const H = 48;
const FPS = 10;
function request(format: MuxRequest["format"]): MuxRequest {
  return {
    format,
    video: {
      kind: "frames",
      width: W,
      height: H,
      fps: FPS,
      data: movingBarFrames({ width: W, height: H, count: FPS }),
    },
    audioWav: encodeWav({
      sampleRate: 16_000,
      channels: [tone({ frequency: 440, seconds: 1, sampleRate: 16_000 })],
    }),
  };
}

describe("mux arguments", () => {
  it("encodes MP4 as H.264 (yuv420p) + AAC and WebM as VP8 + Opus at 48 kHz, never VP9", async () => {
    for (const format of ["mp4", "webm"] as const) {
      const ff = new FakeFfmpeg();
      const out = await mux(ff, request(format));
      expect(out).toMatchObject({ format, mimeType: containers[format].mimeType });
      const args = ff.calls[0]!.join(" ");
      expect(args).toContain(`-f rawvideo -pix_fmt rgba -s ${W}x${H} -r ${FPS}`);
      expect(args).not.toMatch(/vp9/);
      if (format === "mp4") expect(args).toMatch(/-c:v libx264 .*-c:a aac/);
      else expect(args).toMatch(/-c:v libvpx .*-c:a libopus .*-ar 48000/);
      // Every file it wrote into ffmpeg's FS is removed again.
      expect(ff.files.size).toBe(0);
    }
  });

  it("maps a silent video without an audio stream", async () => {
    const ff = new FakeFfmpeg();
    await mux(ff, { ...request("mp4"), audioWav: null });
    expect(ff.calls[0]).toContain("-an");
    expect(ff.calls[0]!.join(" ")).not.toContain("aac");
  });

  it("turns a non-zero exit into an error carrying ffmpeg's log", async () => {
    const ff = new FakeFfmpeg(1);
    await expect(mux(ff, request("webm"))).rejects.toMatchObject({
      code: "INTERNAL",
      message: expect.stringMatching(/exit code 1/),
      details: expect.objectContaining({ log: "Error while opening encoder" }),
    });
    expect(ff.files.size).toBe(0);
  });

  it("reports an abort during exec as CancelledError", async () => {
    const abort = new AbortController();
    const ff = new FakeFfmpeg(0, () => abort.abort());
    await expect(mux(ff, request("mp4"), abort.signal)).rejects.toBeInstanceOf(CancelledError);
  });

  it("validates frames before touching ffmpeg", async () => {
    const ff = new FakeFfmpeg();
    const frames = (w: number, h: number, bytes: number) => ({
      ...request("mp4"),
      video: { kind: "frames" as const, width: w, height: h, fps: 10, data: new Uint8Array(bytes) },
    });
    await expect(mux(ff, frames(63, 48, 63 * 48 * 4))).rejects.toThrow(/even frame size/);
    await expect(mux(ff, frames(64, 48, 100))).rejects.toThrow(/not a whole number/);
    await expect(mux(ff, frames(64, 48, 0))).rejects.toBeInstanceOf(BadInputError);
    expect(ff.calls).toEqual([]);
  });
});

describe("mux of an input file", () => {
  const file = (over: Partial<Extract<MuxRequest["video"], { kind: "file" }>> = {}): MuxRequest => ({
    ...request("mp4"),
    video: { kind: "file", name: "in.mov", data: Uint8Array.from([1]), ...over },
  });

  it("cuts the range the generation used and keeps the picture at even sizes", async () => {
    const ff = new FakeFfmpeg();
    await mux(ff, file({ startS: 1.5, durationS: 2 }));
    const args = ff.calls[0]!.join(" ");
    expect(args).toMatch(/-ss 1\.500 -t 2\.000 -i j\d+-video\.mov/);
    expect(args).toContain("-vf scale=trunc(iw/2)*2:trunc(ih/2)*2");
  });

  it("loops a still picture at the given rate and bounds its size", async () => {
    const ff = new FakeFfmpeg();
    await mux(ff, file({ name: "a.png", stillFps: 4 }));
    const args = ff.calls[0]!.join(" ");
    // cut at the audio's length (request(): 1 s of tone), not only by -shortest
    expect(args).toMatch(/-loop 1 -framerate 4 -t 1\.000 -i j\d+-video\.png/);
    expect(args).toContain("force_original_aspect_ratio=decrease");
    expect(args).toContain("-shortest");
    await expect(mux(ff, { ...file({ stillFps: 4 }), audioWav: null })).rejects.toThrow(/needs a duration/);
    await expect(mux(ff, file({ startS: -1 }))).rejects.toBeInstanceOf(BadInputError);
  });
});

/** The same arguments run by a native ffmpeg, when one is installed (CI does not need it). */
class NativeFfmpeg implements FfmpegSession {
  readonly dir = mkdtempSync(join(tmpdir(), "mux-test-"));
  private log = "";
  async writeFile(path: string, data: Uint8Array) {
    writeFileSync(join(this.dir, path), data);
  }
  async readFile(path: string) {
    return new Uint8Array(readFileSync(join(this.dir, path)));
  }
  async deleteFile(path: string) {
    rmSync(join(this.dir, path), { force: true });
  }
  async exec(args: readonly string[]) {
    // ffmpeg.wasm prepends these itself.
    const r = spawnSync("ffmpeg", ["-nostdin", "-y", ...args], { cwd: this.dir, encoding: "utf8" });
    this.log = r.stderr;
    return r.status ?? -1;
  }
  logTail() {
    return this.log;
  }
}

const hasFfmpeg = spawnSync("ffmpeg", ["-version"]).status === 0;

describe.skipIf(!hasFfmpeg)("mux arguments on a native ffmpeg", () => {
  it("produce MP4 and WebM files with the expected streams and a 1 s duration", async () => {
    const ff = new NativeFfmpeg();
    try {
      const mp4 = parseMp4((await mux(ff, request("mp4"))).bytes);
      expect(mp4.tracks.map((t) => t.codec).sort()).toEqual(["avc1", "mp4a"]);
      expect(Math.abs(mp4.duration - 1)).toBeLessThanOrEqual(1 / FPS);
      const webm = parseWebm((await mux(ff, request("webm"))).bytes);
      expect(webm.tracks.map((t) => t.codec).sort()).toEqual(["A_OPUS", "V_VP8"]);
      expect(Math.abs(webm.duration - 1)).toBeLessThanOrEqual(1 / FPS);
      // an odd-sized input video, cut to 0.5 s from 0.25 s, under a 0.5 s tone
      const clip = join(ff.dir, "odd.mp4");
      spawnSync("ffmpeg", [
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=65x49:rate=10",
        "-t",
        "2",
        "-c:v",
        "mpeg4",
        "-y",
        clip,
      ]);
      const cut = await mux(ff, {
        format: "mp4",
        video: {
          kind: "file",
          name: "odd.mp4",
          data: new Uint8Array(readFileSync(clip)),
          startS: 0.25,
          durationS: 0.5,
        },
        audioWav: encodeWav({
          sampleRate: 16_000,
          channels: [tone({ frequency: 440, seconds: 0.5, sampleRate: 16_000 })],
        }),
      });
      const info = parseMp4(cut.bytes);
      expect(info.tracks.find((t) => t.type === "video")).toMatchObject({ width: 64, height: 48 });
      expect(Math.abs(info.duration - 0.5)).toBeLessThanOrEqual(1 / FPS);
    } finally {
      rmSync(ff.dir, { recursive: true, force: true });
    }
  });
});
