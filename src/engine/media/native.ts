/**
 * Media I/O for the Node CLI through the system's ffmpeg/ffprobe binaries (the browser uses ffmpeg.wasm and
 * WebCodecs instead). Decoding returns the same plain structures the pipelines take: RGB frames, RGB images,
 * float PCM channels. `NativeFfmpegSession` lets `media/mux.ts` encode MP4/WebM with the native binary.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BadInputError, CancelledError, UnsupportedError } from "../errors.js";
import type { RgbImage } from "../preprocess/video/imagebind_image.js";
import type { VideoFrames } from "../preprocess/video/imagebind_video.js";
import type { FfmpegSession } from "./mux.js";

const MAX_DECODED_BYTES = 2 * 1024 ** 3;

function run(
  bin: string,
  args: readonly string[],
  signal?: AbortSignal,
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], signal });
    const out: Buffer[] = [];
    let size = 0;
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      size += b.length;
      if (size > MAX_DECODED_BYTES) {
        child.kill("SIGKILL");
        reject(
          new BadInputError(
            `decoding produced more than ${MAX_DECODED_BYTES} bytes: use a shorter or smaller input`,
          ),
        );
        return;
      }
      out.push(b);
    });
    child.stderr.on("data", (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.name === "AbortError") reject(new CancelledError());
      else if (e.code === "ENOENT")
        reject(
          new UnsupportedError(
            `${bin} is not installed: the CLI needs ffmpeg for media files (apt-get install ffmpeg)`,
          ),
        );
      else reject(e);
    });
    child.on("close", (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else
        reject(
          new BadInputError(
            `${bin} could not read the input (exit ${code}): ${err.trim().split("\n").slice(-3).join(" | ")}`,
          ),
        );
    });
  });
}

interface ProbeStream {
  codec_type: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  sample_rate?: string;
  channels?: number;
}

async function probe(path: string): Promise<{ streams: ProbeStream[]; duration: number }> {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-show_streams",
    "-show_format",
    "-of",
    "json",
    path,
  ]);
  const j = JSON.parse(stdout.toString()) as { streams?: ProbeStream[]; format?: { duration?: string } };
  return { streams: j.streams ?? [], duration: Number(j.format?.duration ?? Number.NaN) };
}

function rate(r: string | undefined): number {
  if (!r) return Number.NaN;
  const [a, b] = r.split("/").map(Number);
  return b ? a / b : a;
}

/** Decode a video's frames as RGB24 at its average frame rate (decord-like: all frames, constant rate). */
export async function decodeVideoFile(
  path: string,
  opts: { maxSeconds?: number; signal?: AbortSignal } = {},
): Promise<VideoFrames & { durationS: number }> {
  const { streams, duration } = await probe(path);
  const v = streams.find((s) => s.codec_type === "video");
  if (!v?.width || !v.height) throw new BadInputError(`${path} has no video stream`);
  const fps = rate(v.avg_frame_rate) || rate(v.r_frame_rate);
  if (!(fps > 0)) throw new BadInputError(`${path}: cannot determine the frame rate`);
  const args = ["-v", "error", "-i", path];
  if (opts.maxSeconds) args.push("-t", String(opts.maxSeconds));
  // constant frame rate output: variable-frame-rate inputs are resampled to their average rate
  args.push("-vf", `fps=${v.avg_frame_rate ?? fps}`, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1");
  const { stdout } = await run("ffmpeg", args, opts.signal);
  const frameBytes = v.width * v.height * 3;
  const numFrames = Math.floor(stdout.length / frameBytes);
  if (numFrames < 1) throw new BadInputError(`${path}: no frames could be decoded`);
  return {
    data: new Uint8Array(stdout.buffer, stdout.byteOffset, numFrames * frameBytes),
    numFrames,
    height: v.height,
    width: v.width,
    fps,
    durationS: Number.isFinite(duration) ? duration : numFrames / fps,
  };
}

/** Decode the first frame of an image (PNG, JPEG, WebP …) as RGB24; EXIF rotation is applied by ffmpeg. */
export async function decodeImageFile(path: string): Promise<RgbImage> {
  const { streams } = await probe(path);
  const v = streams.find((s) => s.codec_type === "video");
  if (!v?.width || !v.height) throw new BadInputError(`${path} is not an image ffmpeg can read`);
  const { stdout } = await run("ffmpeg", [
    "-v",
    "error",
    "-i",
    path,
    "-frames:v",
    "1",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "pipe:1",
  ]);
  if (stdout.length < v.width * v.height * 3)
    throw new BadInputError(`${path}: the image could not be decoded`);
  return {
    data: new Uint8Array(stdout.buffer, stdout.byteOffset, v.width * v.height * 3),
    width: v.width,
    height: v.height,
  };
}

/** Decode audio as float32 channels at the file's own sample rate. */
export async function decodeAudioFile(
  path: string,
): Promise<{ channels: Float32Array[]; sampleRate: number }> {
  const { streams } = await probe(path);
  const a = streams.find((s) => s.codec_type === "audio");
  if (!a?.sample_rate || !a.channels) throw new BadInputError(`${path} has no audio stream`);
  const sr = Number(a.sample_rate);
  const nc = a.channels;
  const { stdout } = await run("ffmpeg", [
    "-v",
    "error",
    "-i",
    path,
    "-f",
    "f32le",
    "-acodec",
    "pcm_f32le",
    "pipe:1",
  ]);
  const all = new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.length));
  const n = Math.floor(all.length / nc);
  const channels = Array.from({ length: nc }, (_, c) => {
    const ch = new Float32Array(n);
    for (let i = 0; i < n; i++) ch[i] = all[i * nc + c];
    return ch;
  });
  return { channels, sampleRate: sr };
}

/** `FfmpegSession` over the native binary in a private temporary folder. */
export class NativeFfmpegSession implements FfmpegSession {
  private dir: string | null = null;
  private tail = "";
  private async folder(): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), "studio-ffmpeg-"));
    return this.dir;
  }
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    await writeFile(join(await this.folder(), path), data);
  }
  async readFile(path: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(join(await this.folder(), path)));
  }
  async deleteFile(path: string): Promise<void> {
    await rm(join(await this.folder(), path), { force: true });
  }
  async exec(args: readonly string[], signal?: AbortSignal): Promise<number> {
    const cwd = await this.folder();
    return new Promise((resolve) => {
      const child = execFile(
        "ffmpeg",
        ["-y", ...args],
        { cwd, signal, maxBuffer: 16 * 1024 * 1024 },
        (err, _out, stderr) => {
          this.tail = String(stderr).slice(-4000);
          resolve(err ? ((err as { code?: number }).code ?? 1) : 0);
        },
      );
      void child;
    });
  }
  logTail(): string {
    return this.tail;
  }
  async close(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
