/**
 * The condition file of a world demo preset (demos.ts), made from its clip's seed: what the user would pick for
 * the task. The clip is rendered and synthesised here (a few ms at the world's 64×64 × 16 frames / 2 s of 16 kHz;
 * cold JIT under 100 ms), so the studio makes it on the main thread and hands the file to the same input path as
 * a picked one. Pure and deterministic: the same demo gives the same bytes.
 *
 *  - a2v: the clip's sound as a 16-bit WAV (media/wav.ts);
 *  - i2a: its key frame (the middle one) as an RGB PNG (media/png.ts);
 *  - v2a: its frames as RGBA for the "mux" job (H.264 MP4 without sound, media/mux.ts), which runs ffmpeg in the
 *    media worker (the browser) or the native binary (tools/world-demos.ts);
 *  - joint: none (the preset is its prompt).
 */
import type { RawFrames } from "../media/mux.js";
import { encodePng } from "../media/png.js";
import { encodeWav } from "../media/wav.js";
import type { VideoFrames } from "../preprocess/video/imagebind_video.js";
import { keyFrame, worldClip } from "./clip.js";
import type { WorldDemo } from "./demos.js";

/** An encoded file, ready to be picked. */
export interface DemoFile {
  kind: "image" | "audio";
  name: string;
  mimeType: string;
  bytes: Uint8Array;
}

/** Frames still to be encoded to `name` (an MP4 without sound). */
export interface DemoFrames {
  kind: "video";
  name: string;
  mimeType: string;
  frames: RawFrames;
}

export type DemoMedia = DemoFile | DemoFrames;

/** Packed RGB(A) frames → RGBA, as the muxer takes raw frames. */
export function framesToRgba(v: VideoFrames): Uint8Array {
  const ch = v.channels ?? 3;
  const n = v.numFrames * v.width * v.height;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[4 * i] = v.data[ch * i]!;
    out[4 * i + 1] = v.data[ch * i + 1]!;
    out[4 * i + 2] = v.data[ch * i + 2]!;
    out[4 * i + 3] = 255;
  }
  return out;
}

/** The file name of a demo's condition (the shipped asset's: "v2a-blue-drum.mp4"). */
export const demoFileName = (d: WorldDemo): string => d.input?.path.split("/").pop() ?? `${d.id}.bin`;

/** The condition of `demo` made from its clip seed; null for a demo without one (joint). */
export function demoMedia(demo: WorldDemo): DemoMedia | null {
  const input = demo.input;
  if (!input) return null;
  const clip = worldClip(demo.clipSeed);
  const name = demoFileName(demo);
  if (input.kind === "audio")
    return {
      kind: "audio",
      name,
      mimeType: input.mimeType,
      bytes: encodeWav({ sampleRate: clip.sampleRate, channels: [clip.audio] }),
    };
  if (input.kind === "image")
    return { kind: "image", name, mimeType: input.mimeType, bytes: encodePng(keyFrame(clip)) };
  const { width, height, fps } = clip.video;
  return {
    kind: "video",
    name,
    mimeType: input.mimeType,
    frames: { kind: "frames", width, height, fps, data: framesToRgba(clip.video) },
  };
}
