/**
 * Writing world clips and generated media from Node tools: MP4 (H.264/AAC through media/mux.ts on the native
 * ffmpeg), WAV (media/wav.ts) and PNG contact sheets of frames (for looking at clips without a video player).
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { type FfmpegSession, mux } from "../../src/engine/media/mux.js";
import { encodeWav } from "../../src/engine/media/wav.js";
import type { VideoFrames } from "../../src/engine/preprocess/video/imagebind_video.js";
import { framesToRgba } from "../../src/engine/world/demo-media.js";

export function wavBytes(audio: Float32Array, sampleRate: number): Uint8Array {
  return encodeWav({ sampleRate, channels: [audio] });
}

/** MP4 with the frames and (optionally) the audio. */
export async function mp4Bytes(
  ff: FfmpegSession,
  video: VideoFrames,
  audio: { samples: Float32Array; sampleRate: number } | null,
): Promise<Uint8Array> {
  const out = await mux(ff, {
    video: {
      kind: "frames",
      width: video.width,
      height: video.height,
      fps: video.fps,
      data: framesToRgba(video),
    },
    audioWav: audio ? wavBytes(audio.samples, audio.sampleRate) : null,
    format: "mp4",
  });
  return out.bytes;
}

/** A PNG grid of all frames (`cols` per row, each scaled ×`scale`, nearest) written to `path` by ffmpeg. */
export async function writeContactSheet(path: string, v: VideoFrames, cols = 4, scale = 3): Promise<void> {
  const rows = Math.ceil(v.numFrames / cols);
  const W = v.width;
  const H = v.height;
  const ch = v.channels ?? 3;
  const sheet = new Uint8Array(rows * H * cols * W * 3).fill(40);
  for (let f = 0; f < v.numFrames; f++) {
    const ox = (f % cols) * W;
    const oy = Math.floor(f / cols) * H;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const s = ((f * H + y) * W + x) * ch;
        const d = ((oy + y) * cols * W + ox + x) * 3;
        sheet[d] = v.data[s];
        sheet[d + 1] = v.data[s + 1];
        sheet[d + 2] = v.data[s + 2];
      }
  }
  const args = ["-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${cols * W}x${rows * H}`];
  args.push("-i", "pipe:0", "-vf", `scale=iw*${scale}:ih*${scale}:flags=neighbor`, "-frames:v", "1", path);
  await new Promise<void>((resolve, reject) => {
    const p = spawn("ffmpeg", args, { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg png: ${err.trim()}`))));
    p.stdin.end(sheet);
  });
}

export async function writeBytes(path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(path, bytes);
}
