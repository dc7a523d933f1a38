/**
 * Byte-level media files for the reliability tests (Node and e2e): an EXIF orientation tag inserted into a JPEG,
 * an RGBA PNG written by hand (the system ffmpeg's drawbox crashes on RGBA), and a PNG whose header claims a size
 * its data does not have.
 */
import { deflateSync } from "node:zlib";
import { crc32 } from "../../src/engine/weights/zip.js";

/** `jpeg` with an APP1 Exif segment right after SOI holding one IFD0 entry: Orientation (0x0112) = `value`. */
export function exifOrientation(jpeg: Uint8Array, value: number): Uint8Array {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error("not a JPEG");
  const tiff = new Uint8Array(26);
  const t = new DataView(tiff.buffer);
  tiff.set([0x49, 0x49, 0x2a, 0x00]); // "II*\0": little-endian TIFF
  t.setUint32(4, 8, true); // IFD0 at 8
  t.setUint16(8, 1, true); // one entry
  t.setUint16(10, 0x0112, true); // Orientation
  t.setUint16(12, 3, true); // SHORT
  t.setUint32(14, 1, true); // count
  t.setUint16(18, value, true);
  t.setUint32(22, 0, true); // no next IFD
  const payload = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff]); // "Exif\0\0"
  const seg = new Uint8Array(4 + payload.length);
  seg.set([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  seg.set(payload, 4);
  const out = new Uint8Array(jpeg.length + seg.length);
  out.set(jpeg.subarray(0, 2));
  out.set(seg, 2);
  out.set(jpeg.subarray(2), 2 + seg.length);
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  const body = new Uint8Array([...new TextEncoder().encode(type), ...data]);
  out.set(body, 4);
  v.setUint32(8 + data.length, crc32(body) >>> 0);
  return out;
}

/** A valid-looking RGB PNG header for `width`×`height` with a 2-byte (empty) zlib stream as its only data. */
export function pngHeaderOnly(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An 8-bit RGBA PNG of `pixels` ([height][width][4] row-major). */
export function rgbaPng(width: number, height: number, pixels: Uint8Array): Uint8Array {
  if (pixels.length !== width * height * 4) throw new Error("rgbaPng: pixel count");
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  const raw = new Uint8Array(height * (1 + width * 4));
  for (let y = 0; y < height; y++)
    raw.set(pixels.subarray(y * width * 4, (y + 1) * width * 4), y * (1 + width * 4) + 1);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** 8×4: colour (0x33, 0x66, 0xCC) at alpha 128, except column 0: red at alpha 0 (fully transparent). */
export function alphaTestPng(): Uint8Array {
  const px = new Uint8Array(8 * 4 * 4);
  for (let i = 0; i < 32; i++) px.set(i % 8 === 0 ? [255, 0, 0, 0] : [0x33, 0x66, 0xcc, 128], i * 4);
  return rgbaPng(8, 4, px);
}

/**
 * An MP4 whose first track header (tkhd) carries a 90° display matrix, as a phone writes a portrait video:
 * players (and ffmpeg's autorotate) show it turned clockwise while the stored frames stay landscape.
 */
export function rotateMp4By90(mp4: Uint8Array): Uint8Array {
  const out = mp4.slice();
  const text = new TextDecoder("latin1").decode(out);
  const at = text.indexOf("tkhd");
  if (at < 0) throw new Error("no tkhd box");
  const version = out[at + 4];
  // version/flags, then v0: times 4+4, track id 4, reserved 4, duration 4 (v1: 8+8, 4, 4, 8); reserved 8,
  // layer 2, alternate group 2, volume 2, reserved 2: then the 3×3 matrix (16.16, 16.16, 2.30 per row)
  const matrix = at + 4 + 4 + (version === 1 ? 32 : 20) + 8 + 8;
  const v = new DataView(out.buffer, out.byteOffset);
  const m = [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000];
  for (const [i, x] of m.entries()) v.setInt32(matrix + 4 * i, x);
  return out;
}

/** `rgb` (w×h, 3 bytes per pixel) turned 90° clockwise: h×w. */
export function rotateRgbClockwise(rgb: ArrayLike<number>, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < w; y++)
    for (let x = 0; x < h; x++)
      for (let c = 0; c < 3; c++) out[(y * h + x) * 3 + c] = rgb[((h - 1 - x) * w + y) * 3 + c]!;
  return out;
}
