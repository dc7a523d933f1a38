/**
 * Decoding the studio's inputs with ffmpeg (ffmpeg.wasm in the media worker, the native binary in tests) into the
 * plain structures the pipelines take: RGB24 video frames at the source frame rate, one RGB image, float PCM.
 *
 * ffmpeg.wasm 0.12 has no usable ffprobe behind `FfmpegSession`, so `probeMedia` reads the stream summary ffmpeg
 * prints for `-i` ("Duration: …", "Stream #0:0: Video: h264 …, 64x48 …, 8 fps"). Every failure is a
 * `BadInputError` that names the file and says what to do. In the browser, images (webcodecs.ts) and MP4/WebM
 * video and audio (webcodecs-av.ts) go through WebCodecs first, with this module's decoders as the fallback and
 * the reference they match.
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
    const v = /Stream #0:\d+.*?: Video: ([^\s,]+).*?, (\d{1,5})x(\d{1,5})(?=[\s,[]|$)/.exec(line);
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

/**
 * Largest input file decoded. ffmpeg.wasm's heap stops at 2 GiB and holds the input (MEMFS) next to the decoded
 * output (up to `maxBytes`, 512 MiB by default) and the decoder's own buffers.
 */
export const MAX_INPUT_BYTES = 1024 ** 3;

const mb = (n: number) => `${(n / 1024 ** 2).toFixed(n < 10 * 1024 ** 2 ? 1 : 0)} MB`;

/** Refuses a file over MAX_INPUT_BYTES before any byte of it is read (the media worker checks `File.size`). */
export function checkInputSize(name: string, bytes: number): void {
  if (bytes > MAX_INPUT_BYTES)
    throw new BadInputError(
      `"${name}" is ${mb(bytes)}; the studio decodes files up to ${mb(MAX_INPUT_BYTES)}: trim or re-encode it ` +
        "to a shorter or smaller file first.",
      { file: name, bytes },
    );
}

/** ffmpeg probed the stream but has no decoder for it (e.g. an unknown FourCC or WAV format tag). */
function checkCodec(name: string, kind: "video" | "audio", codec: string, log: string): void {
  if (codec !== "none" && !/Decoder \(codec [^)]*\) not found/.test(log)) return;
  const tag = new RegExp(`${kind === "video" ? "Video" : "Audio"}: none \\(([^)]*)\\)`, "i").exec(log)?.[1];
  throw new BadInputError(
    `"${name}" uses a${kind === "audio" ? "n audio" : " video"} codec the studio cannot decode` +
      `${tag ? ` (${tag.trim()})` : ""}: convert it to ${kind === "video" ? "H.264 MP4 or VP8/VP9 WebM" : "WAV, MP3, AAC or Opus"} first.`,
    { file: name, codec },
  );
}

/**
 * A decode that reported errors and delivered much less than the container promised is a damaged file (cut
 * download, broken mdat): refuse it rather than hand over a silently shortened input.
 */
function checkComplete(name: string, got: number, expected: number, log: string): void {
  if (!(expected > 0) || got >= 0.9 * expected) return;
  if (!/partial file|Invalid data|error while decoding|corrupt|truncat|Invalid NAL/i.test(log)) return;
  throw new BadInputError(
    `"${name}" is damaged: only ${got.toFixed(2)} s of its ${expected.toFixed(2)} s could be decoded. ` +
      "Re-download or re-export the file.",
    { file: name, decodedS: got, expectedS: expected, log: log.slice(-1500) },
  );
}

async function withInput<T>(
  ff: FfmpegSession,
  name: string,
  data: Uint8Array,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase() ?? "bin";
  const path = `in${++counter}.${ext}`;
  if (data.byteLength === 0) throw new BadInputError(`"${name}" is empty: pick another file.`);
  checkInputSize(name, data.byteLength);
  await ff.writeFile(path, data);
  try {
    return await fn(path);
  } finally {
    await ff.deleteFile(path).catch(() => undefined);
  }
}

async function probePath(
  ff: FfmpegSession,
  path: string,
  name: string,
): Promise<MediaInfo & { readonly log: string }> {
  // exits 1 ("no output file"); the banner is what we want. The log level is set explicitly: ffmpeg.wasm keeps
  // it across execs, so after a decode ran with "-loglevel error" a bare probe would print no stream info.
  await ff.exec(["-hide_banner", "-loglevel", "info", "-i", path]);
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
  // not enumerable: `info` is returned to callers, the banner is only for the codec message
  return Object.defineProperty(info, "log", { value: log, enumerable: false }) as MediaInfo & { log: string };
}

/** Runs one decode to a raw output file and returns its bytes; a failure names the input. */
async function decodeTo(
  ff: FfmpegSession,
  name: string,
  args: readonly string[],
  out: string,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; log: string }> {
  try {
    const code = await ff.exec(["-hide_banner", "-loglevel", "error", "-y", ...args, out], signal);
    if (signal?.aborted) throw new CancelledError();
    if (code !== 0) {
      const log = ff.logTail();
      const missing = /Decoder \(codec ([^)]*)\) not found/.exec(log);
      if (missing) checkCodec(name, args.includes("-vn") ? "audio" : "video", "none", log);
      throw new BadInputError(
        `"${name}" could not be decoded (ffmpeg exit ${code}): the file is damaged or incomplete. ` +
          "Re-download or re-export it.",
        {
          file: name,
          log: log.slice(-1500),
        },
      );
    }
    const log = ff.logTail(); // errors the decoder recovered from (see checkComplete)
    return { bytes: await ff.readFile(out), log };
  } finally {
    await ff.deleteFile(out).catch(() => undefined);
  }
}

export async function probeMedia(ff: FfmpegSession, name: string, data: Uint8Array): Promise<MediaInfo> {
  return withInput(ff, name, data, async (path) => {
    const { log: _log, ...info } = await probePath(ff, path, name);
    return info;
  });
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

/**
 * Frames of a binary PPM stream ("P6\n<w> <h>\n255\n" + w·h·3 bytes per frame, ffmpeg's `ppm` encoder), headers
 * stripped in place. ffmpeg applies a file's rotation (an MP4 display matrix, a JPEG's EXIF orientation) while
 * decoding, so the picture that comes out can be h×w where the probe said w×h: PPM makes the output say its own
 * size. A trailing partial frame is dropped; frames of different sizes are refused.
 */
export function parsePpmFrames(
  bytes: Uint8Array,
  name: string,
): { data: Uint8Array; width: number; height: number; numFrames: number } {
  let r = 0;
  let w = 0;
  let width = 0;
  let height = 0;
  let numFrames = 0;
  const token = (): number | string | null => {
    while (
      r < bytes.length &&
      (bytes[r] === 0x20 || bytes[r] === 0x0a || bytes[r] === 0x0d || bytes[r] === 0x09)
    )
      r++;
    const start = r;
    while (r < bytes.length && r - start < 12 && bytes[r]! > 0x20) r++;
    if (r === start || r >= bytes.length) return null;
    const t = String.fromCharCode(...bytes.subarray(start, r));
    return /^\d+$/.test(t) ? Number(t) : t;
  };
  while (r < bytes.length) {
    const at = r;
    const [magic, fw, fh, max] = [token(), token(), token(), token()];
    if (magic === null) break;
    if (magic !== "P6" || typeof fw !== "number" || typeof fh !== "number" || max !== 255 || fw < 1 || fh < 1)
      throw new BadInputError(`"${name}": the decoder returned an unreadable picture (at byte ${at}).`, {
        file: name,
      });
    r++; // the single whitespace byte after maxval
    if (numFrames === 0) [width, height] = [fw, fh];
    else if (fw !== width || fh !== height)
      throw new BadInputError(
        `"${name}" changes its picture size mid-stream (${width}×${height} → ${fw}×${fh}): re-encode it.`,
        { file: name },
      );
    const n = fw * fh * 3;
    if (r + n > bytes.length) break;
    bytes.copyWithin(w, r, r + n);
    w += n;
    r += n;
    numFrames++;
  }
  return { data: bytes.subarray(0, w), width, height, numFrames };
}

function trimArgs(t: Trim): string[] {
  const args: string[] = [];
  if (t.startS && t.startS > 0) args.push("-ss", t.startS.toFixed(3));
  if (t.durationS && t.durationS > 0) args.push("-t", t.durationS.toFixed(3));
  return args;
}

/** The trim start must lie inside the input and the length be positive (shared with webcodecs-av.ts). */
export function checkTrim(name: string, t: Trim, total: number | null): void {
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
    checkCodec(name, "video", v.codec, info.log);
    checkTrim(name, opts, info.durationS);
    const total = info.durationS ?? Number.POSITIVE_INFINITY;
    const start = opts.startS ?? 0;
    const seconds = Math.min(opts.durationS ?? total, total - start);
    const expectedFrames = Math.ceil(seconds * v.fps) + 1;
    const maxBytes = opts.maxBytes ?? 512 * 1024 ** 2;
    const filters = [`fps=${v.fps}`];
    let scale = 1;
    if (v.width * v.height * 3 * expectedFrames > maxBytes) {
      scale = Math.sqrt(maxBytes / (v.width * v.height * 3 * expectedFrames));
      // relative to the picture after ffmpeg's rotation (iw/ih), so a rotated video keeps its aspect
      filters.push(
        `scale=2*trunc(iw*${scale.toFixed(6)}/2+0.5):2*trunc(ih*${scale.toFixed(6)}/2+0.5):flags=area`,
      );
    }
    const out = `frames${counter}.ppm`;
    const decoded = await decodeTo(
      ff,
      name,
      [
        ...trimArgs(opts),
        "-i",
        path,
        "-an",
        "-vf",
        filters.join(","),
        "-pix_fmt",
        "rgb24",
        "-c:v",
        "ppm",
        "-f",
        "image2pipe",
      ],
      out,
      opts.signal,
    );
    const { log } = decoded;
    const { data, width, height, numFrames } = parsePpmFrames(decoded.bytes, name);
    // the source as displayed (rotation applied), when it had to be scaled down
    const turned = width !== height && v.width !== v.height && width > height !== v.width > v.height;
    const scaledFrom =
      scale < 1
        ? turned
          ? { width: v.height, height: v.width }
          : { width: v.width, height: v.height }
        : null;
    if (numFrames < 1)
      throw new BadInputError(
        `No frames could be decoded from "${name}" in the chosen range: move the trim start.`,
        {
          file: name,
        },
      );
    if (Number.isFinite(seconds)) checkComplete(name, numFrames / v.fps, seconds, log);
    return {
      data,
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
    checkCodec(name, "video", v.codec, info.log);
    const maxPixels = opts.maxPixels ?? 64 * 1024 ** 2;
    if (v.width * v.height > maxPixels)
      throw new BadInputError(
        `"${name}" is ${v.width}×${v.height}, over the ${maxPixels.toLocaleString("en-US")}-pixel limit: use a smaller image.`,
      );
    const out = `image${counter}.ppm`;
    const { bytes } = await decodeTo(
      ff,
      name,
      ["-i", path, "-frames:v", "1", "-pix_fmt", "rgb24", "-c:v", "ppm", "-f", "image2pipe"],
      out,
      opts.signal,
    );
    // EXIF orientation is applied by ffmpeg: a portrait photo comes out h×w (PPM says which)
    const { data, width, height, numFrames } = parsePpmFrames(bytes, name);
    if (numFrames < 1) throw new BadInputError(`"${name}": the image could not be decoded.`, { file: name });
    return { data, width, height, info };
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
    checkCodec(name, "audio", a.codec, info.log);
    checkTrim(name, opts, info.durationS);
    const out = `audio${counter}.f32`;
    const { bytes, log } = await decodeTo(
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
    if (info.durationS !== null) {
      const start = opts.startS ?? 0;
      const want = Math.min(opts.durationS ?? Number.POSITIVE_INFINITY, info.durationS - start);
      checkComplete(name, n / a.sampleRate, want, log);
    }
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
