/**
 * Image inputs through WebCodecs' ImageDecoder in the media worker (issue #8), against ffmpeg.wasm on the same
 * files: a PNG with an alpha ramp (pixel for pixel: alpha dropped, not blended), a JPEG (within a few levels: the
 * two decoders upsample chroma differently) and the same JPEG with EXIF orientation 6 (both turn it portrait).
 * The I2A tab's input facts name the decoder; a PNG WebCodecs fails on is logged as a fallback to ffmpeg.wasm.
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
