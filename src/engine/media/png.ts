/**
 * A minimal PNG writer for small RGB pictures made in the browser or in Node (the world demos' key frame): 8-bit
 * RGB, filter 0 on every row, and a zlib stream of stored (uncompressed) deflate blocks. No compressor means the
 * bytes depend on the pixels alone, the same in every browser and in Node (a canvas's `toBlob` promises neither).
 * PNG: RFC 2083 / W3C PNG §5 (chunks, CRC-32) and §10 (zlib); deflate stored blocks: RFC 1951 §3.2.4.
 */
import { BadInputError } from "../errors.js";
import { crc32 } from "../weights/zip.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Largest payload of one stored deflate block (LEN is 16 bits). */
const STORED_MAX = 0xffff;

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** zlib (RFC 1950) around stored deflate blocks: header 78 01, blocks, Adler-32. */
function zlibStored(raw: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(raw.length / STORED_MAX));
  const out = new Uint8Array(2 + raw.length + 5 * blocks + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let at = 2;
  for (let b = 0; b < blocks; b++) {
    const part = raw.subarray(b * STORED_MAX, Math.min(raw.length, (b + 1) * STORED_MAX));
    out[at] = b === blocks - 1 ? 1 : 0; // BFINAL, BTYPE 00
    out[at + 1] = part.length & 0xff;
    out[at + 2] = part.length >> 8;
    out[at + 3] = ~part.length & 0xff;
    out[at + 4] = (~part.length >> 8) & 0xff;
    out.set(part, at + 5);
    at += 5 + part.length;
  }
  let a = 1;
  let s = 0;
  for (let i = 0; i < raw.length; i++) {
    a = (a + raw[i]!) % 65521;
    s = (s + a) % 65521;
  }
  new DataView(out.buffer).setUint32(at, ((s << 16) | a) >>> 0);
  return out;
}

/** An 8-bit RGB PNG of `data` ([height][width][3], row-major). */
export function encodePng(img: { data: Uint8Array; width: number; height: number }): Uint8Array {
  const { data, width, height } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new BadInputError(`A PNG needs a size of whole pixels above 0; got ${width}×${height}.`);
  if (data.length !== width * height * 3)
    throw new BadInputError(
      `A ${width}×${height} RGB picture has ${width * height * 3} bytes; got ${data.length}.`,
    );
  const stride = width * 3;
  const raw = new Uint8Array(height * (1 + stride)); // each row: filter type 0, then its pixels
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (1 + stride) + 1);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, filter method 0, no interlace
  const parts = [
    new Uint8Array(SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlibStored(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
