/**
 * Media files for the demuxer tests (unit and fuzz): a set the system ffmpeg writes (1 s each, testsrc + sine),
 * and an EBML element builder for hand-made Matroska.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** name → ffmpeg arguments (after the inputs' -f lavfi); every file is 1 s. */
export const SAMPLE_FILES = {
  "h264-aac.mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
  "h264-bframes.mp4": [
    "-an",
    "-c:v",
    "libx264",
    "-bf",
    "2",
    "-pix_fmt",
    "yuv420p",
    "-movflags",
    "+faststart",
  ],
  "vp9.mp4": ["-an", "-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-deadline", "realtime"],
  "vp8-opus.webm": ["-c:v", "libvpx", "-c:a", "libopus"],
  "vp9.webm": ["-an", "-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-deadline", "realtime"],
  "aac.m4a": ["-vn", "-c:a", "aac", "-ac", "2"],
} as const;

export function makeSamples(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [name, args] of Object.entries(SAMPLE_FILES)) {
    const file = join(dir, name);
    const rate = name.endsWith(".webm") || name === "vp9.mp4" ? "48000" : "44100";
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"],
      ...["-f", "lavfi", "-i", `sine=f=440:r=${rate}`, "-t", "1", ...args, file],
    ]);
    out[name] = new Uint8Array(readFileSync(file));
  }
  return out;
}

/** An EBML element: ID bytes as written, then an 8-byte size (or "unknown"), then the children. */
export function el(id: number, ...body: (Uint8Array | number[])[]): Uint8Array {
  const payload = Buffer.concat(body.map((b) => Buffer.from(b)));
  const idBytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) idBytes.unshift(v & 0xff);
  const size = [
    0x01,
    0,
    0,
    0,
    0,
    (payload.length >> 16) & 0xff,
    (payload.length >> 8) & 0xff,
    payload.length & 0xff,
  ];
  return new Uint8Array(Buffer.concat([Buffer.from(idBytes), Buffer.from(size), payload]));
}
export const unknownSize = (id: number, ...body: Uint8Array[]) => {
  const idBytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) idBytes.unshift(v & 0xff);
  return new Uint8Array(
    Buffer.concat([Buffer.from(idBytes), Buffer.from([0x01, 255, 255, 255, 255, 255, 255, 255]), ...body]),
  );
};
