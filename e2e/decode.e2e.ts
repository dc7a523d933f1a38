/**
 * Image inputs through WebCodecs' ImageDecoder in the media worker (issue #8), against ffmpeg.wasm on the same
 * files: a PNG with an alpha ramp (pixel for pixel: alpha dropped, not blended), a JPEG (within a few levels: the
 * two decoders upsample chroma differently) and the same JPEG with EXIF orientation 6 (both turn it portrait).
 * The I2A tab's input facts name the decoder; a PNG WebCodecs fails on is logged as a fallback to ffmpeg.wasm.
 *
 * Video and audio inputs through our demuxers and WebCodecs' VideoDecoder/AudioDecoder (media/webcodecs-av.ts), against
 * ffmpeg.wasm on the same files: H.264 MP4, VP8 and VP9 WebM (same frame count, size and fps; mean level
 * difference bounded), AAC in M4A and Opus in WebM (same rate and channels; relative L2 after the best alignment
 * bounded), and an MPEG-4 Part 2 MP4, which WebCodecs has no codec for: logged, and decoded by ffmpeg.wasm.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { studioSession } from "./support/session.js";

const session = studioSession({ webgpu: false });
const dir = mkdtempSync(join(tmpdir(), "decode-e2e-"));

const ffmpeg = (...args: string[]) => execFileSync("ffmpeg", ["-v", "error", "-y", ...args]);

/** A 12×8 test card with alpha rising 0 → 220 left to right (straight, not premultiplied, in the PNG). */
function pngWithAlpha(): string {
  const file = join(dir, "card.png");
  ffmpeg(
    ...["-f", "lavfi", "-i", "testsrc=size=12x8", "-frames:v", "1"],
    ...["-vf", "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='20*X'", file],
  );
  return file;
}

function jpeg(): string {
  const file = join(dir, "card.jpg");
  ffmpeg(...["-f", "lavfi", "-i", "testsrc=size=16x8", "-frames:v", "1", "-q:v", "2", file]);
  return file;
}

/** The JPEG with an EXIF APP1 segment saying "orientation 6" (displayed turned 90° clockwise). */
function rotatedJpeg(src: string): string {
  const j = readFileSync(src);
  // TIFF header (big-endian), one IFD entry: tag 0x0112 Orientation, SHORT, count 1, value 6
  const tiff = Buffer.from([
    ...[0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8],
    ...[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0],
    ...[0, 0, 0, 0],
  ]);
  const app1 = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1, 0, app1.length + 2]), app1]);
  const file = join(dir, "card-exif6.jpg");
  writeFileSync(file, Buffer.concat([j.subarray(0, 2), seg, j.subarray(2)]));
  return file;
}

interface Decoded {
  ok: boolean;
  width: number;
  height: number;
  data: number[];
  decoder: string;
  fallback: string | null;
  message: string;
  logs: string[];
}

/** The media worker's "decode" job on `bytes`, WebCodecs allowed ("auto") or not. */
function decodeJob(page: Page, name: string, bytes: Uint8Array, decoder: "auto" | "ffmpeg.wasm") {
  return page.evaluate(
    async ([name, bytes, decoder]): Promise<Decoded> => {
      const logs: string[] = [];
      const out = {
        ok: false,
        width: 0,
        height: 0,
        data: [],
        decoder: "",
        fallback: null,
        message: "",
        logs,
      };
      try {
        const r = await window.__studio!.commands.run(
          "decode",
          { kind: "image", name, file: new Blob([Uint8Array.from(bytes)]), decoder },
          {
            label: `Decode ${name}`,
            onEvent: (e) => {
              if (e.type === "log") logs.push(`${e.level}: ${e.message}`);
            },
          },
        );
        if (r.kind !== "image") throw new Error(`decoded a ${r.kind}`);
        const { width, height, data } = r.image;
        const { decoder: used, fallback = null } = r.info;
        return { ...out, ok: true, width, height, data: Array.from(data), decoder: used, fallback };
      } catch (e) {
        return { ...out, message: (e as Error).message };
      }
    },
    [name, Array.from(bytes), decoder] as const,
  );
}

function diff(a: Decoded, b: Decoded): { mean: number; max: number } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  expect(a.data.length).toBe(b.data.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.data.length, max };
}

/** Picks `file` in the I2A tab and returns the input's facts once decoded. */
async function pickInI2a(page: Page, file: string): Promise<string> {
  const p = page.locator('section.task[data-task="i2a"]');
  await p.locator('input[data-input="i2a-file"]').setInputFiles(file);
  const facts = p.locator(".input-facts");
  const name = file.split("/").pop()!;
  await expect
    .poll(
      async () => `${await facts.getAttribute("data-status")} ${await facts.locator("strong").textContent()}`,
      {
        timeout: 60_000,
      },
    )
    .toBe(`ready ${name}`);
  return (await facts.locator("p").first().textContent()) ?? "";
}

interface DecodedAv {
  ok: boolean;
  kind: string;
  numFrames: number;
  width: number;
  height: number;
  fps: number;
  /** RGB24 frames / float32 PCM per channel, base64 (far quicker over CDP than number arrays). */
  frames: string;
  sampleRate: number;
  channels: string[];
  durationS: number;
  decoder: string;
  fallback: string | null;
  message: string;
  logs: string[];
  ms: number;
}

/** The media worker's "decode" job on a video or audio file, WebCodecs allowed ("auto") or not. */
function decodeAvJob(
  page: Page,
  kind: "video" | "audio",
  name: string,
  bytes: Uint8Array,
  decoder: "auto" | "ffmpeg.wasm",
  trim: { startS?: number; durationS?: number } = {},
) {
  return page.evaluate(
    async ([kind, name, bytes, decoder, trim]): Promise<DecodedAv> => {
      const logs: string[] = [];
      const b64 = (b: Uint8Array) => {
        let s = "";
        for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
        return btoa(s);
      };
      const out: DecodedAv = {
        ...{ ok: false, kind, numFrames: 0, width: 0, height: 0, fps: 0, frames: "", sampleRate: 0 },
        ...{ channels: [], durationS: 0, decoder: "", fallback: null, message: "", logs, ms: 0 },
      };
      const t0 = performance.now();
      try {
        const r = await window.__studio!.commands.run(
          "decode",
          { kind, name, file: new Blob([Uint8Array.from(bytes)]), decoder, ...trim },
          {
            label: `Decode ${name}`,
            onEvent: (e) => {
              if (e.type === "log") logs.push(`${e.level}: ${e.message}`);
            },
          },
        );
        out.ms = performance.now() - t0;
        out.decoder = r.info.decoder;
        out.fallback = r.info.fallback ?? null;
        if (r.kind === "video") {
          const { numFrames, width, height, fps, data } = r.frames;
          return {
            ...out,
            ok: true,
            numFrames,
            width,
            height,
            fps,
            frames: b64(data),
            durationS: r.durationS,
          };
        }
        if (r.kind === "audio")
          return {
            ...out,
            ok: true,
            sampleRate: r.sampleRate,
            channels: r.channels.map((c) => b64(new Uint8Array(c.buffer, c.byteOffset, c.byteLength))),
            durationS: r.durationS,
          };
        throw new Error(`decoded a ${r.kind}`);
      } catch (e) {
        return { ...out, message: (e as Error).message };
      }
    },
    [kind, name, Array.from(bytes), decoder, trim] as const,
  );
}

const bytesOf = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));
const pcmOf = (b64: string) => {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** Relative L2 of `a` against `b` at the lag (|lag| ≤ 2048 samples) that minimises it, over their overlap. */
function alignedRelL2(a: ArrayLike<number>, b: ArrayLike<number>): { lag: number; relL2: number } {
  let best = { lag: 0, relL2: Number.POSITIVE_INFINITY };
  for (let lag = -2048; lag <= 2048; lag++) {
    let num = 0;
    let den = 0;
    for (let i = Math.max(0, -lag); i < b.length && i + lag < a.length; i++) {
      const d = a[i + lag]! - b[i]!;
      num += d * d;
      den += b[i]! * b[i]!;
    }
    const relL2 = Math.sqrt(num / Math.max(den, 1e-12));
    if (relL2 < best.relL2) best = { lag, relL2 };
  }
  return best;
}

function meanAbs(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

describe("video and audio inputs through WebCodecs", () => {
  const av = (name: string, ...args: string[]) => {
    const file = join(dir, name);
    ffmpeg(...args, file);
    return readFileSync(file);
  };
  const video = ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-t", "1.5"];
  // a chirp plus a beating tone: no period for the alignment to lock onto wrongly, and no noise (AAC codes noise
  // as PNS, whose decoder-side random numbers depend on where decoding started)
  const chirp = (rate: number) => [
    ...["-f", "lavfi", "-i"],
    `aevalsrc='0.3*sin(2*PI*(200+400*t)*t)+0.2*sin(2*PI*1234*t)*sin(2*PI*3*t)':s=${rate}:d=1.5`,
  ];

  it("video: H.264 MP4, VP8 and VP9 WebM decode with WebCodecs to ffmpeg.wasm's frames (mean |Δ| < 2 levels)", async () => {
    const { page } = session.studio;
    const files = {
      "h264.mp4": av("h264.mp4", ...video, ...["-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p"]),
      "vp8.webm": av("vp8.webm", ...video, ...["-c:v", "libvpx", "-b:v", "1M"]),
      "vp9.webm": av(
        "vp9.webm",
        ...video,
        ...["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-deadline", "realtime"],
      ),
    };
    for (const [name, bytes] of Object.entries(files))
      for (const trim of [{}, { startS: 0.35, durationS: 0.8 }]) {
        const web = await decodeAvJob(page, "video", name, bytes, "auto", trim);
        const ff = await decodeAvJob(page, "video", name, bytes, "ffmpeg.wasm", trim);
        expect(web, web.message).toMatchObject({ ok: true, decoder: "webcodecs", fallback: null, logs: [] });
        expect(ff).toMatchObject({ ok: true, decoder: "ffmpeg.wasm" });
        expect([web.numFrames, web.width, web.height, web.fps]).toEqual([
          ff.numFrames,
          ff.width,
          ff.height,
          ff.fps,
        ]);
        const d = meanAbs(bytesOf(web.frames), bytesOf(ff.frames));
        console.log(
          `${name} ${JSON.stringify(trim)}: ${web.numFrames} frames, WebCodecs vs ffmpeg.wasm mean |Δ| ` +
            `${d.mean.toFixed(3)}, max ${d.max} (WebCodecs ${web.ms.toFixed(0)} ms, ffmpeg.wasm ${ff.ms.toFixed(0)} ms)`,
        );
        expect(d.mean).toBeLessThan(2);
      }
  });

  it("audio: AAC in M4A and Opus in WebM decode with WebCodecs to ffmpeg.wasm's PCM (rel. L2 < 1e-3 aligned)", async () => {
    const { page } = session.studio;
    const files = {
      "chirp.m4a": av("chirp.m4a", ...chirp(44100), ...["-ac", "2", "-c:a", "aac", "-b:a", "128k"]),
      "chirp.webm": av("chirp.webm", ...chirp(48000), ...["-c:a", "libopus", "-b:a", "96k"]),
    };
    for (const [name, bytes] of Object.entries(files)) {
      const web = await decodeAvJob(page, "audio", name, bytes, "auto");
      const ff = await decodeAvJob(page, "audio", name, bytes, "ffmpeg.wasm");
      expect(web, web.message).toMatchObject({ ok: true, decoder: "webcodecs", fallback: null, logs: [] });
      expect(ff).toMatchObject({ ok: true, decoder: "ffmpeg.wasm" });
      expect([web.sampleRate, web.channels.length]).toEqual([ff.sampleRate, ff.channels.length]);
      const [w0, f0] = [pcmOf(web.channels[0]!), pcmOf(ff.channels[0]!)];
      const n = [w0.length, f0.length];
      const whole = alignedRelL2(w0, f0);
      // a trim against the whole ffmpeg.wasm decode from the trim start: ffmpeg.wasm's own trimmed decode starts
      // decoding at the chunk holding the start, so its first frame (~20 ms) has no decoder warm-up
      const trim = { startS: 0.25, durationS: 1 };
      const cut = await decodeAvJob(page, "audio", name, bytes, "auto", trim);
      expect(cut, cut.message).toMatchObject({ ok: true, decoder: "webcodecs" });
      const from = Math.round(trim.startS * ff.sampleRate);
      const ref = f0.slice(from, from + Math.round(trim.durationS * ff.sampleRate));
      const c0 = pcmOf(cut.channels[0]!);
      const part = alignedRelL2(c0, ref);
      console.log(
        `${name}: ${n[0]} vs ${n[1]} samples, best lag ${whole.lag}, rel. L2 ${whole.relL2.toExponential(2)}; ` +
          `trim ${JSON.stringify(trim)}: ${c0.length} samples, lag ${part.lag}, rel. L2 ` +
          `${part.relL2.toExponential(2)} (WebCodecs ${web.ms.toFixed(0)} ms, ffmpeg.wasm ${ff.ms.toFixed(0)} ms)`,
      );
      expect(Math.abs(n[0]! - n[1]!)).toBeLessThanOrEqual(1024); // ffmpeg keeps the AAC encoder's end padding
      expect(whole.relL2).toBeLessThan(1e-3);
      expect(c0.length).toBe(ref.length);
      expect(part).toMatchObject({ lag: 0 });
      // AAC decoded from a later frame is exact after one frame; Opus converges without becoming bit-exact
      // (measured 1.3e-4 after the 200 ms of pre-roll, 6e-3 after 80 ms)
      expect(part.relL2).toBeLessThan(1e-3);
    }
  });

  it("an MPEG-4 Part 2 MP4 (no WebCodecs codec): logged, decoded by ffmpeg.wasm, facts say so", async () => {
    const { page } = session.studio;
    const bytes = av("mpeg4.mp4", ...video, ...["-c:v", "mpeg4"]);
    const r = await decodeAvJob(page, "video", "mpeg4.mp4", bytes, "auto");
    expect(r).toMatchObject({ ok: true, decoder: "ffmpeg.wasm", numFrames: 15, width: 96, height: 64 });
    expect(r.fallback).toMatch(/no codec string for mp4v/);
    expect(r.logs).toEqual([
      expect.stringMatching(/^warn: "mpeg4\.mp4": WebCodecs could not decode the video/),
    ]);
  });

  it("the V2A tab says a picked H.264 MP4 was decoded by WebCodecs", async () => {
    const { page } = session.studio;
    await page.keyboard.press("Alt+1");
    const p = page.locator('section.task[data-task="v2a"]');
    await p.locator('input[data-input="v2a-file"]').setInputFiles(join(dir, "h264.mp4"));
    const facts = p.locator(".input-facts");
    await expect
      .poll(
        async () =>
          `${await facts.getAttribute("data-status")} ${await facts.locator("p").first().textContent()}`,
        {
          timeout: 60_000,
        },
      )
      .toMatch(/^ready h264\.mp4 .*96×64 · 10 fps .*decoded by WebCodecs$/);
  });
});

describe("image inputs through WebCodecs", () => {
  const files: Record<string, string> = {};

  it("the I2A tab decodes a picked PNG and JPEG with WebCodecs and says so in the facts", async () => {
    const { page } = session.studio;
    files.png = pngWithAlpha();
    files.jpg = jpeg();
    files.exif = rotatedJpeg(files.jpg);
    await page.keyboard.press("Alt+2");
    expect(await pickInI2a(page, files.png)).toMatch(/12×8 · decoded by WebCodecs$/);
    expect(await pickInI2a(page, files.jpg)).toMatch(/16×8 · decoded by WebCodecs$/);
    expect(await pickInI2a(page, files.exif)).toMatch(/8×16 · decoded by WebCodecs$/);
  });

  it("PNG: WebCodecs gives ffmpeg.wasm's pixels exactly (alpha dropped, straight colour kept)", async () => {
    const { page } = session.studio;
    const bytes = readFileSync(files.png!);
    const web = await decodeJob(page, "card.png", bytes, "auto");
    const ff = await decodeJob(page, "card.png", bytes, "ffmpeg.wasm");
    expect(web).toMatchObject({ ok: true, decoder: "webcodecs", width: 12, height: 8, logs: [] });
    expect(ff).toMatchObject({ ok: true, decoder: "ffmpeg.wasm", width: 12, height: 8 });
    expect(diff(web, ff)).toEqual({ mean: 0, max: 0 });
    // the file's own straight RGBA (native ffmpeg): its alpha-0 pixels keep their colour in the decode
    const rgba = execFileSync("ffmpeg", [
      "-v",
      "error",
      "-i",
      files.png!,
      ...["-f", "rawvideo", "-pix_fmt", "rgba", "-"],
    ]);
    const clear = [...Array(12 * 8).keys()].filter((i) => rgba[i * 4 + 3] === 0 && rgba[i * 4]! > 0);
    expect(clear.length).toBeGreaterThan(0);
    expect(web.data).toEqual(Array.from(rgba).filter((_, i) => i % 4 !== 3));
  });

  it("PNG with a gAMA chunk and the bundled demo picture: colour left as stored, as ffmpeg.wasm does", async () => {
    const { page } = session.studio;
    // gAMA 1.0 after IHDR: a colour-managed decode would brighten every mid-tone
    const card = readFileSync(files.png!);
    const body = Buffer.concat([Buffer.from("gAMA", "latin1"), Buffer.from([0, 1, 0x86, 0xa0])]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    const gama = Buffer.concat([
      card.subarray(0, 33),
      Buffer.from([0, 0, 0, 4]),
      body,
      crc,
      card.subarray(33),
    ]);
    for (const [name, bytes] of [
      ["card-gama.png", gama],
      ["i2a-red-bell.png", readFileSync("public/demos/world/i2a-red-bell.png")],
    ] as const) {
      const web = await decodeJob(page, name, bytes, "auto");
      const ff = await decodeJob(page, name, bytes, "ffmpeg.wasm");
      expect(web).toMatchObject({ ok: true, decoder: "webcodecs" });
      expect(ff).toMatchObject({ ok: true, decoder: "ffmpeg.wasm" });
      expect(diff(web, ff)).toEqual({ mean: 0, max: 0 });
    }
  });

  it("JPEG, upright and EXIF-rotated: same size and orientation as ffmpeg.wasm, pixels within a few levels", async () => {
    const { page } = session.studio;
    for (const [key, name, size] of [
      ["jpg", "card.jpg", [16, 8]],
      ["exif", "card-exif6.jpg", [8, 16]],
    ] as const) {
      const bytes = readFileSync(files[key]!);
      const web = await decodeJob(page, name, bytes, "auto");
      const ff = await decodeJob(page, name, bytes, "ffmpeg.wasm");
      expect(web).toMatchObject({ ok: true, decoder: "webcodecs", width: size[0], height: size[1] });
      expect(ff).toMatchObject({ ok: true, decoder: "ffmpeg.wasm", width: size[0], height: size[1] });
      const d = diff(web, ff);
      console.log(`${name}: WebCodecs vs ffmpeg.wasm mean |Δ| ${d.mean.toFixed(2)}, max ${d.max}`);
      expect(d.mean).toBeLessThan(1); // measured 0.06 (max 2) on Chromium 156
      expect(d.max).toBeLessThanOrEqual(8);
    }
  });

  it("a PNG WebCodecs cannot decode is handed to ffmpeg.wasm, and the job logs the fallback", async () => {
    const { page } = session.studio;
    const good = readFileSync(files.png!);
    const broken = Uint8Array.from([...good.subarray(0, 8), ...new Uint8Array(64).fill(7)]);
    const r = await decodeJob(page, "broken.png", broken, "auto");
    expect(r.ok).toBe(false); // ffmpeg.wasm cannot read it either: its message is the job's error
    expect(r.message).toMatch(/broken\.png/);
    expect(r.logs).toEqual([
      expect.stringMatching(/^warn: "broken\.png": WebCodecs could not decode it .*ffmpeg\.wasm/),
    ]);
  });

  it("stayed on the origin", () => {
    session.expectClean();
  });
});
