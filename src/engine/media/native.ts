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
import { parsePpmFrames } from "./decode.js";
import type { FfmpegSession } from "./mux.js";

const MAX_DECODED_BYTES = 2 * 1024 ** 3;

function run(
  bin: string,
  args: readonly string[],
  signal?: AbortSignal,
): Promise<{ stdout: Buffer; stderr: string }> {
  const at = args.indexOf("-i"); // ffprobe takes the input last
  const input = (at >= 0 ? args[at + 1] : args.at(-1)) ?? "the input";
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
            `${bin} could not read ${input} (exit ${code}): ${err.trim().split("\n").slice(-3).join(" | ")}`,
          ),
        );
    });
  });
}

interface ProbeStream {
  codec_type: string;
  /** Absent when ffmpeg has no decoder for the stream (unknown FourCC / format tag). */
  codec_name?: string;
  codec_tag_string?: string;
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

function checkCodec(path: string, s: ProbeStream, convert: string): void {
  if (s.codec_name && s.codec_name !== "none") return;
  const tag = s.codec_tag_string && s.codec_tag_string !== "[0][0][0][0]" ? ` (${s.codec_tag_string})` : "";
  throw new BadInputError(
    `${path} uses a${s.codec_type === "audio" ? "n audio" : " video"} codec ffmpeg cannot decode${tag}: convert it to ${convert} first`,
    { file: path },
  );
}

/** Refuse a decode that logged errors and delivered under 90% of the declared duration (a damaged file). */
function checkComplete(path: string, got: number, expected: number, stderr: string): void {
  if (!(expected > 0) || got >= 0.9 * expected || !stderr.trim()) return;
  throw new BadInputError(
    `${path} is damaged: only ${got.toFixed(2)} s of its ${expected.toFixed(2)} s could be decoded; re-download or re-export it`,
    { file: path, decodedS: got, expectedS: expected },
  );
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
  checkCodec(path, v, "H.264 MP4 or WebM");
  const fps = rate(v.avg_frame_rate) || rate(v.r_frame_rate);
  if (!(fps > 0)) throw new BadInputError(`${path}: cannot determine the frame rate`);
  const args = ["-v", "error", "-i", path];
  if (opts.maxSeconds) args.push("-t", String(opts.maxSeconds));
  // constant frame rate output: variable-frame-rate inputs are resampled to their average rate
  // PPM frames carry their size: ffmpeg applies the display matrix (portrait phone videos come out h×w)
  args.push(
    "-vf",
    `fps=${v.avg_frame_rate ?? fps}`,
    "-pix_fmt",
    "rgb24",
    "-c:v",
    "ppm",
    "-f",
    "image2pipe",
    "pipe:1",
  );
  const { stdout, stderr } = await run("ffmpeg", args, opts.signal);
  const { data, width, height, numFrames } = parsePpmFrames(stdout, path);
  if (numFrames < 1) throw new BadInputError(`${path}: no frames could be decoded`);
  if (Number.isFinite(duration))
    checkComplete(path, numFrames / fps, Math.min(duration, opts.maxSeconds ?? duration), stderr);
  return {
    data,
    numFrames,
    height,
    width,
    fps,
    durationS: Number.isFinite(duration) ? duration : numFrames / fps,
  };
}

/**
 * Decode the first frame of an image (PNG, JPEG, WebP …) as RGB24. An alpha channel is dropped (as PIL's
 * `convert("RGB")`); an EXIF orientation is applied by ffmpeg, so the picture is upright as a viewer shows it
 * (upstream ImageBind's `Image.open` would not rotate it). test/reliability/media-inputs.test.ts pins both.
 */
export async function decodeImageFile(path: string): Promise<RgbImage> {
  const { streams } = await probe(path);
  const v = streams.find((s) => s.codec_type === "video");
  if (!v?.width || !v.height) throw new BadInputError(`${path} is not an image ffmpeg can read`);
  checkCodec(path, v, "PNG or JPEG");
  const { stdout } = await run("ffmpeg", [
    "-v",
    "error",
    "-i",
    path,
    "-frames:v",
    "1",
    "-pix_fmt",
    "rgb24",
    "-c:v",
    "ppm",
    "-f",
    "image2pipe",
    "pipe:1",
  ]);
  const { data, width, height, numFrames } = parsePpmFrames(stdout, path);
  if (numFrames < 1) throw new BadInputError(`${path}: the image could not be decoded`);
  return { data, width, height };
}

/** Decode audio as float32 channels at the file's own sample rate. */
export async function decodeAudioFile(
  path: string,
): Promise<{ channels: Float32Array[]; sampleRate: number }> {
  const { streams, duration } = await probe(path);
  const a = streams.find((s) => s.codec_type === "audio");
  if (!a?.sample_rate || !a.channels) throw new BadInputError(`${path} has no audio stream`);
  checkCodec(path, a, "WAV, MP3, AAC or Opus");
  const sr = Number(a.sample_rate);
  const nc = a.channels;
  const { stdout, stderr } = await run("ffmpeg", [
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
  if (n < 1) throw new BadInputError(`${path}: no audio could be decoded`, { file: path });
  if (Number.isFinite(duration)) checkComplete(path, n / sr, duration, stderr);
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
