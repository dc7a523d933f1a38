/**
 * Mux/encode audio and video into MP4 (H.264/AAC) or WebM (VP8/Opus) with ffmpeg.
 *
 * The ffmpeg instance is behind `FfmpegSession` so this logic runs against ffmpeg.wasm in a worker
 * (media/ffmpeg.ts) and against a fake in unit tests. Pitfalls (DESIGN.md): VP9 crashes ffmpeg.wasm 0.12
 * with a memory error, so WebM uses VP8; libopus only encodes at 48 kHz, hence `-ar 48000`; after any
 * ffmpeg error the caller must discard the instance (the session owner does this — see `FfmpegHost`).
 */

import { BadInputError, CancelledError, ErrorCode, StudioError } from "../errors.js";
import { decodeWav } from "./wav.js";

export type MuxFormat = "mp4" | "webm";

/** Raw RGBA frames packed back to back (`width * height * 4` bytes each). */
export interface RawFrames {
  kind: "frames";
  width: number;
  height: number;
  fps: number;
  data: Uint8Array;
}

/** An encoded video file (e.g. the user's input video) whose picture is re-encoded into the target container. */
export interface VideoFile {
  kind: "file";
  /** Original file name; only its extension is used, as a hint to ffmpeg's demuxer. */
  name: string;
  data: Uint8Array;
  /** Use only this range of the input (seconds): the part a generation was conditioned on. */
  startS?: number;
  durationS?: number;
  /** The file is a still image: loop it at this frame rate (the audio, or `durationS`, sets the length). */
  stillFps?: number;
}

/** Pictures are scaled to even sizes (4:2:0 chroma), stills to at most this many pixels on their long side. */
const STILL_MAX_SIDE = 1280;

export interface MuxRequest {
  video: RawFrames | VideoFile;
  /** A WAV file (media/wav.ts); null for a silent video. */
  audioWav: Uint8Array | null;
  format: MuxFormat;
}

export interface MuxedFile {
  format: MuxFormat;
  mimeType: string;
  fileName: string;
  bytes: Uint8Array;
}

/** The slice of ffmpeg.wasm this module needs. `exec` resolves with ffmpeg's exit code. */
export interface FfmpegSession {
  writeFile(path: string, data: Uint8Array): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  deleteFile(path: string): Promise<void>;
  exec(args: readonly string[], signal?: AbortSignal): Promise<number>;
  /** The last lines ffmpeg logged, for error messages. */
  logTail(): string;
}

/** Codec settings per container. */
export const containers = Object.freeze({
  mp4: {
    mimeType: "video/mp4",
    video: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    audio: ["-c:a", "aac", "-b:a", "128k"],
    extra: ["-movflags", "+faststart"],
  },
  webm: {
    mimeType: "video/webm",
    // VP8, not VP9: VP9 runs out of memory in ffmpeg.wasm 0.12 (DESIGN.md pitfalls).
    video: ["-c:v", "libvpx", "-b:v", "1M", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p"],
    // libopus accepts only 48 kHz (and a few divisors); resample explicitly.
    audio: ["-c:a", "libopus", "-b:a", "96k", "-ar", "48000"],
    extra: [],
  },
} as const satisfies Record<
  MuxFormat,
  { mimeType: string; video: readonly string[]; audio: readonly string[]; extra: readonly string[] }
>);

export function checkMuxRequest(req: MuxRequest): void {
  if (!(req.format in containers))
    throw new BadInputError(`Unknown container "${req.format}"; use mp4 or webm.`);
  const v = req.video;
  if (v.kind === "frames") {
    const { width, height, fps, data } = v;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
      throw new BadInputError(`Frame size must be whole pixels, at least 2×2; got ${width}×${height}.`);
    }
    if (width % 2 || height % 2) {
      throw new BadInputError(`H.264/VP8 with 4:2:0 chroma need an even frame size; got ${width}×${height}.`);
    }
    if (!(fps > 0 && fps <= 240)) throw new BadInputError(`Frame rate must be in (0, 240] fps; got ${fps}.`);
    const frameBytes = width * height * 4;
    if (data.byteLength === 0 || data.byteLength % frameBytes !== 0) {
      throw new BadInputError(
        `Frame data is ${data.byteLength} bytes, not a whole number of ${width}×${height} RGBA frames (${frameBytes} bytes each).`,
      );
    }
  } else {
    if (v.data.byteLength === 0) throw new BadInputError(`The video file "${v.name}" is empty.`);
    if (v.startS !== undefined && !(v.startS >= 0))
      throw new BadInputError(`The start of the video range must be ≥ 0 s (got ${v.startS}).`);
    if (v.durationS !== undefined && !(v.durationS > 0))
      throw new BadInputError(`The length of the video range must be above 0 s (got ${v.durationS}).`);
    if (v.stillFps !== undefined && !(v.stillFps > 0 && v.stillFps <= 60))
      throw new BadInputError(`A still picture's frame rate must be in (0, 60] fps (got ${v.stillFps}).`);
    if (v.stillFps && !req.audioWav && !v.durationS)
      throw new BadInputError("A still picture without audio needs a duration.");
  }
  if (req.audioWav && req.audioWav.byteLength < 44)
    throw new BadInputError("The audio WAV is too short to hold a header.");
}

function extensionOf(name: string): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name);
  return m ? m[1]!.toLowerCase() : "bin";
}

let counter = 0;

/** Encodes one container. Throws `CancelledError` on abort; any other failure carries ffmpeg's log tail. */
export async function mux(ff: FfmpegSession, req: MuxRequest, signal?: AbortSignal): Promise<MuxedFile> {
  checkMuxRequest(req);
  const spec = containers[req.format];
  const tag = `j${++counter}`;
  const videoPath =
    req.video.kind === "frames" ? `${tag}-frames.rgba` : `${tag}-video.${extensionOf(req.video.name)}`;
  const audioPath = `${tag}-audio.wav`;
  const outPath = `${tag}-out.${req.format}`;
  const args: string[] = ["-hide_banner", "-loglevel", "info"];
  if (req.video.kind === "frames") {
    const { width, height, fps } = req.video;
    args.push("-f", "rawvideo", "-pix_fmt", "rgba", "-s", `${width}x${height}`, "-r", String(fps));
  }
  if (req.video.kind === "file") {
    const { startS, stillFps } = req.video;
    let { durationS } = req.video;
    if (stillFps) args.push("-loop", "1", "-framerate", String(stillFps));
    else if (startS && startS > 0) args.push("-ss", startS.toFixed(3));
    // a looped still runs as long as the audio: `-shortest` alone overshoots by a frame or more (the encoder's
    // look-ahead), so the loop is cut at the audio's own length
    if (stillFps && !durationS && req.audioWav) {
      const a = decodeWav(req.audioWav);
      durationS = a.channels[0].length / a.sampleRate;
    }
    if (durationS && durationS > 0) args.push("-t", durationS.toFixed(3));
  }
  args.push("-i", videoPath);
  if (req.audioWav) args.push("-i", audioPath, "-map", "0:v:0", "-map", "1:a:0");
  else args.push("-map", "0:v:0", "-an");
  if (req.video.kind === "file") {
    const fit = req.video.stillFps
      ? `scale='min(${STILL_MAX_SIDE},iw)':'min(${STILL_MAX_SIDE},ih)':force_original_aspect_ratio=decrease,`
      : "";
    args.push("-vf", `${fit}scale=trunc(iw/2)*2:trunc(ih/2)*2`);
  }
  args.push(...spec.video);
  if (req.audioWav) args.push(...spec.audio, "-shortest");
  args.push(...spec.extra, outPath);

  const written: string[] = [];
  try {
    await ff.writeFile(videoPath, req.video.data);
    written.push(videoPath);
    if (req.audioWav) {
      await ff.writeFile(audioPath, req.audioWav);
      written.push(audioPath);
    }
    if (signal?.aborted) throw new CancelledError();
    written.push(outPath);
    const code = await ff.exec(args, signal);
    if (signal?.aborted) throw new CancelledError();
    if (code !== 0) throw ffmpegFailure(req, code, ff.logTail());
    const bytes = await ff.readFile(outPath);
    return { format: req.format, mimeType: spec.mimeType, fileName: `studio.${req.format}`, bytes };
  } catch (err) {
    if (signal?.aborted) throw new CancelledError();
    throw err;
  } finally {
    for (const p of written) await ff.deleteFile(p).catch(() => undefined);
  }
}

function ffmpegFailure(req: MuxRequest, code: number, log: string): StudioError {
  const details = { exitCode: code, format: req.format, log };
  if (
    req.video.kind === "file" &&
    /Invalid data found|could not find codec parameters|moov atom not found/i.test(log)
  ) {
    return new BadInputError(
      `ffmpeg could not read the video "${req.video.name}"; try another file or format.`,
      details,
    );
  }
  return new StudioError(
    ErrorCode.Internal,
    `ffmpeg failed to encode ${req.format} (exit code ${code}).`,
    details,
  );
}
