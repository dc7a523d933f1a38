/**
 * Decoding the studio's inputs with ffmpeg (ffmpeg.wasm in the media worker, the native binary in tests) into the
 * plain structures the pipelines take: RGB24 video frames at the source frame rate, one RGB image, float PCM.
 *
 * ffmpeg.wasm 0.12 has no usable ffprobe behind `FfmpegSession`, so `probeMedia` reads the stream summary ffmpeg
 * prints for `-i` ("Duration: …", "Stream #0:0: Video: h264 …, 64x48 …, 8 fps"). Every failure is a
 * `BadInputError` that names the file and says what to do.
 */
import { BadInputError, CancelledError } from "../errors.js";
import type { FfmpegSession } from "./mux.js";

export interface VideoStreamInfo {
  codec: string;
  width: number;
  height: number;
  /** Average frame rate as ffmpeg prints it (e.g. 29.97); null for still images. */
  fps: number | null;
}

export interface AudioStreamInfo {
  codec: string;
  sampleRate: number;
  channels: number;
}

export interface MediaInfo {
  /** Container as ffmpeg names it ("mov,mp4,m4a,…", "wav", "png_pipe"). */
  format: string;
  /** Seconds; null when the container states none (images). */
  durationS: number | null;
  video: VideoStreamInfo | null;
  audio: AudioStreamInfo | null;
  /** A single picture rather than a moving video (image demuxers, or no duration). */
  still: boolean;
}

const STILL_FORMATS = /(^|,)(image2|[a-z0-9]+_pipe|apng|gif)(,|$)/;

function parseDuration(log: string): number | null {
  const m = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(log);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}

function parseRate(s: string): number {
  const m = /^([\d.]+)(k?)$/.exec(s);
  return m ? Number(m[1]) * (m[2] ? 1000 : 1) : Number.NaN;
}

const CHANNEL_LAYOUTS: Readonly<Record<string, number>> = {
  mono: 1,
  stereo: 2,
  "2.1": 3,
  quad: 4,
  "4.0": 4,
  "5.0": 5,
  "5.1": 6,
  "6.1": 7,
  "7.1": 8,
};

/** The first video and audio stream and the duration, from ffmpeg's `-i` banner. */
export function parseMediaInfo(log: string): MediaInfo | null {
  const input = /Input #0, ([^\s]+), from/.exec(log);
  if (!input) return null;
  const format = input[1]!.replace(/,$/, "");
  const durationS = parseDuration(log);
  let video: VideoStreamInfo | null = null;
  let audio: AudioStreamInfo | null = null;
  for (const line of log.split("\n")) {
    const v = /Stream #0:\d+.*?: Video: ([^\s,]+).*?, (\d{2,5})x(\d{2,5})/.exec(line);
    if (v && !video) {
      const fps = /, ([\d.]+k?) fps/.exec(line);
      video = {
        codec: v[1]!,
        width: Number(v[2]),
        height: Number(v[3]),
        fps: fps ? parseRate(fps[1]!) : null,
      };
    }
    const a = /Stream #0:\d+.*?: Audio: ([^\s,]+).*?, (\d+) Hz, ([^,]+)/.exec(line);
    if (a && !audio) {
      const layout = a[3]!.trim();
      const n = /^(\d+) channels/.exec(layout);
      audio = {
        codec: a[1]!,
        sampleRate: Number(a[2]),
        channels: n ? Number(n[1]) : (CHANNEL_LAYOUTS[layout.replace(/\(.*\)$/, "")] ?? 2),
      };
    }
  }
  const still = STILL_FORMATS.test(format) || (video !== null && durationS === null);
  return { format, durationS, video, audio, still };
}

let counter = 0;

async function withInput<T>(
  ff: FfmpegSession,
  name: string,
  data: Uint8Array,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase() ?? "bin";
  const path = `in${++counter}.${ext}`;
  if (data.byteLength === 0) throw new BadInputError(`"${name}" is empty: pick another file.`);
  await ff.writeFile(path, data);
  try {
    return await fn(path);
  } finally {
    await ff.deleteFile(path).catch(() => undefined);
  }
}

async function probePath(ff: FfmpegSession, path: string, name: string): Promise<MediaInfo> {
  await ff.exec(["-hide_banner", "-i", path]); // exits 1 ("no output file"); the banner is what we want
  const log = ff.logTail();
  const info = parseMediaInfo(log);
  if (!info || (!info.video && !info.audio)) {
    const reason = /Invalid data found|moov atom not found|could not find codec/i.test(log)
      ? "it is corrupt or not a media file"
      : "ffmpeg found no audio or video stream in it";
    throw new BadInputError(
      `"${name}" cannot be read: ${reason}. Pick another file (MP4, WebM, MOV, WAV, PNG…).`,
      {
        file: name,
        log: log.slice(-1500),
      },
    );
  }
  return info;
}

/** Runs one decode to a raw output file and returns its bytes; a failure names the input. */
async function decodeTo(
  ff: FfmpegSession,
  name: string,
  args: readonly string[],
  out: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  try {
    const code = await ff.exec(["-hide_banner", "-loglevel", "error", "-y", ...args, out], signal);
    if (signal?.aborted) throw new CancelledError();
    if (code !== 0)
      throw new BadInputError(
        `"${name}" could not be decoded (ffmpeg exit ${code}): the file may be damaged.`,
        {
          file: name,
          log: ff.logTail().slice(-1500),
        },
      );
    return await ff.readFile(out);
  } finally {
    await ff.deleteFile(out).catch(() => undefined);
  }
}

export async function probeMedia(ff: FfmpegSession, name: string, data: Uint8Array): Promise<MediaInfo> {
  return withInput(ff, name, data, (path) => probePath(ff, path, name));
}

export interface Trim {
  /** Seconds from the start of the input. */
  startS?: number;
  /** Seconds to keep (the model's duration); the rest is not decoded. */
  durationS?: number;
}

export interface DecodedVideo {
  /** RGB24 frames [T, H, W, 3]. */
  data: Uint8Array;
  numFrames: number;
  width: number;
  height: number;
  fps: number;
  /** Seconds of video decoded (numFrames / fps). */
  durationS: number;
  /** The whole input's duration, for the trim control. */
  sourceDurationS: number;
  /** Set when the frames were scaled down to fit `maxBytes`. */
  scaledFrom: { width: number; height: number } | null;
  info: MediaInfo;
}

const even = (x: number) => Math.max(2, 2 * Math.round(x / 2));

function trimArgs(t: Trim): string[] {
  const args: string[] = [];
  if (t.startS && t.startS > 0) args.push("-ss", t.startS.toFixed(3));
  if (t.durationS && t.durationS > 0) args.push("-t", t.durationS.toFixed(3));
  return args;
}

function checkTrim(name: string, t: Trim, total: number | null): void {
  const s = t.startS ?? 0;
  if (!(s >= 0) || (total !== null && s >= total))
    throw new BadInputError(
      `The trim start (${s} s) is outside "${name}" (${total?.toFixed(2) ?? "?"} s long): move it earlier.`,
    );
  if (t.durationS !== undefined && !(t.durationS > 0))
    throw new BadInputError(`The trim length must be above 0 s (got ${t.durationS}).`);
}

/**
 * Video → RGB24 frames at the source's average frame rate (decord-like: every frame of the trimmed range). When the
 * frames would exceed `maxBytes` they are scaled down (aspect kept, even sizes) and `scaledFrom` says so.
 */
export async function decodeVideo(
  ff: FfmpegSession,
  name: string,
  data: Uint8Array,
  opts: Trim & { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<DecodedVideo> {
  return withInput(ff, name, data, async (path) => {
    const info = await probePath(ff, path, name);
    const v = info.video;
    if (!v) throw new BadInputError(`"${name}" has no video stream: pick a video file.`, { file: name });
    if (info.still || !v.fps)
      throw new BadInputError(
        `"${name}" is a still image, not a video: use the Image → Audio tab for images.`,
        {
          file: name,
        },
      );
    checkTrim(name, opts, info.durationS);
    const total = info.durationS ?? Number.POSITIVE_INFINITY;
    const start = opts.startS ?? 0;
    const seconds = Math.min(opts.durationS ?? total, total - start);
    const expectedFrames = Math.ceil(seconds * v.fps) + 1;
    const maxBytes = opts.maxBytes ?? 512 * 1024 ** 2;
    let { width, height } = v;
    let scaledFrom: DecodedVideo["scaledFrom"] = null;
    if (width * height * 3 * expectedFrames > maxBytes) {
      const k = Math.sqrt(maxBytes / (width * height * 3 * expectedFrames));
      scaledFrom = { width, height };
      width = even(width * k);
      height = even(height * k);
    }
    const filters = [`fps=${v.fps}`];
    if (scaledFrom) filters.push(`scale=${width}:${height}:flags=area`);
    const out = `frames${counter}.rgb`;
    const bytes = await decodeTo(
      ff,
      name,
      [...trimArgs(opts), "-i", path, "-an", "-vf", filters.join(","), "-f", "rawvideo", "-pix_fmt", "rgb24"],
      out,
      opts.signal,
    );
    const frameBytes = width * height * 3;
    const numFrames = Math.floor(bytes.byteLength / frameBytes);
    if (numFrames < 1)
      throw new BadInputError(
        `No frames could be decoded from "${name}" in the chosen range: move the trim start.`,
        {
          file: name,
        },
      );
    return {
      data: bytes.byteLength === numFrames * frameBytes ? bytes : bytes.slice(0, numFrames * frameBytes),
      numFrames,
      width,
      height,
      fps: v.fps,
      durationS: numFrames / v.fps,
      sourceDurationS: info.durationS ?? numFrames / v.fps,
      scaledFrom,
      info,
    };
  });
}

export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  info: MediaInfo;
}

/** An image (PNG, JPEG, WebP, …; the first frame of anything with a picture) → RGB24. */
export async function decodeImage(
  ff: FfmpegSession,
  name: string,
  data: Uint8Array,
  opts: { maxPixels?: number; signal?: AbortSignal } = {},
): Promise<DecodedImage> {
  return withInput(ff, name, data, async (path) => {
    const info = await probePath(ff, path, name);
    const v = info.video;
    if (!v)
      throw new BadInputError(`"${name}" has no picture: pick an image file (PNG, JPEG, WebP).`, {
        file: name,
      });
    const maxPixels = opts.maxPixels ?? 64 * 1024 ** 2;
    if (v.width * v.height > maxPixels)
      throw new BadInputError(
        `"${name}" is ${v.width}×${v.height}, over the ${maxPixels.toLocaleString("en-US")}-pixel limit: use a smaller image.`,
      );
    const out = `image${counter}.rgb`;
    const bytes = await decodeTo(
      ff,
      name,
      ["-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24"],
      out,
      opts.signal,
    );
    const need = v.width * v.height * 3;
    if (bytes.byteLength < need)
      throw new BadInputError(`"${name}": the image could not be decoded.`, { file: name });
    return { data: bytes.subarray(0, need), width: v.width, height: v.height, info };
  });
}

export interface DecodedAudio {
  /** One Float32Array per channel, PCM in [−1, 1], at the file's own rate. */
  channels: Float32Array[];
  sampleRate: number;
  durationS: number;
  sourceDurationS: number;
  info: MediaInfo;
}

/** Audio (or a video's audio track) → float PCM per channel at the source sample rate. */
export async function decodeAudio(
  ff: FfmpegSession,
  name: string,
  data: Uint8Array,
  opts: Trim & { signal?: AbortSignal } = {},
): Promise<DecodedAudio> {
  return withInput(ff, name, data, async (path) => {
    const info = await probePath(ff, path, name);
    const a = info.audio;
    if (!a)
      throw new BadInputError(`"${name}" has no audio stream: pick an audio file (WAV, MP3, OGG…).`, {
        file: name,
      });
    checkTrim(name, opts, info.durationS);
    const out = `audio${counter}.f32`;
    const bytes = await decodeTo(
      ff,
      name,
      [
        ...trimArgs(opts),
        "-i",
        path,
        "-vn",
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-ac",
        String(a.channels),
      ],
      out,
      opts.signal,
    );
    const nc = a.channels;
    const all = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.byteLength & ~3)),
    );
    const n = Math.floor(all.length / nc);
    if (n < 1)
      throw new BadInputError(`No audio could be decoded from "${name}" in the chosen range.`, {
        file: name,
      });
    const channels = Array.from({ length: nc }, (_, c) => {
      const ch = new Float32Array(n);
      for (let i = 0; i < n; i++) ch[i] = all[i * nc + c]!;
      return ch;
    });
    return {
      channels,
      sampleRate: a.sampleRate,
      durationS: n / a.sampleRate,
      sourceDurationS: info.durationS ?? n / a.sampleRate,
      info,
    };
  });
}
