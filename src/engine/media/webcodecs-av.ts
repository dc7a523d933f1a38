/**
 * Video and audio inputs through WebCodecs' `VideoDecoder`/`AudioDecoder` (fed by our demuxers, demux.ts) where
 * the browser supports the track's codec, ffmpeg.wasm otherwise (issue #8). Results have decode.ts' shapes and
 * follow what its ffmpeg commands do:
 *  - video (`-ss S -t D -i f -vf fps=F[,scale=…:flags=area] -pix_fmt rgb24`): every output tick k of 1/F s shows
 *    the last frame whose presentation time, after the trim, rounds (to nearest) to ≤ k; frames before S are
 *    dropped, and frames D or more after the first kept one; ticks run to the first frame dropped at the end, or to
 *    the end of the last frame. F is the average frame rate as ffmpeg prints
 *    it (two decimals). YUV → RGB24 uses ffmpeg 5.1's matrix choice (the one the stream signals, demux.ts, else
 *    BT.601; limited range unless signalled full) with nearest-neighbour chroma, as swscale's unscaled path does
 *    (Chromium's VideoFrame.colorSpace is not used: it says BT.709 for unsignalled streams); the display rotation is applied like ffmpeg's autorotate. Frames over `maxBytes` are scaled with an
 *    exact area average (ffmpeg: swscale's `area` filter on the YUV planes): a level or two apart on edges.
 *  - audio (`-ss S -t D -i f -vn -f f32le`): float PCM per channel at the decoder's rate, samples from S to
 *    S + D on the container's timeline (priming / pre-skip before 0 dropped, padding after the edit list's or
 *    DiscardPadding's end dropped, where ffmpeg 5.1 keeps an AAC encoder's last padded frame). Chunks are fed
 *    from 200 ms before S, so a trim equals the continuous decode (AAC exactly; Opus within ~1e-4 rel. L2, as it
 *    converges without becoming bit-exact); ffmpeg after a seek starts at the chunk (MP4) or cluster (WebM)
 *    holding S.
 *  - timelines start at the container's 0, not at ffmpeg's file start time (which a WebM with Opus puts a few ms
 *    early); a WebM without a Duration gets the end of its last frame as `sourceDurationS` where ffmpeg says N/A.
 *
 * Anything WebCodecs cannot take (no decoder in this scope, an unsupported container, codec or track, a decode
 * error, fewer frames or samples than the container promises) goes to ffmpeg.wasm, and the reason is logged.
 */
import { CancelledError, StudioError } from "../errors.js";
import type { DecodedAudio, DecodedVideo, MediaInfo, Trim } from "./decode.js";
import { checkTrim } from "./decode.js";
import {
  type Demuxed,
  type DemuxedAudioTrack,
  type DemuxedChunk,
  type DemuxedVideoTrack,
  demux,
  sniffContainer,
} from "./demux.js";
import type { YuvMatrix } from "./demux-codecs.js";
import { InputDecoder, type InputDecoderType, orientToRgb } from "./webcodecs.js";

// --- the WebCodecs surface this module uses (fakes implement it in unit tests) ---------------------------------

export interface PlaneLayoutLike {
  offset: number;
  stride: number;
}

/** The parts of a `VideoFrame` read here. */
export interface VideoFrameLike {
  readonly format: string | null;
  readonly timestamp: number;
  readonly visibleRect: { readonly width: number; readonly height: number } | null;
  readonly codedWidth: number;
  readonly codedHeight: number;
  readonly colorSpace?: { readonly matrix?: string | null; readonly fullRange?: boolean | null };
  allocationSize(options?: { format?: "RGBA" }): number;
  copyTo(destination: Uint8Array, options?: { format?: "RGBA" }): Promise<readonly PlaneLayoutLike[]>;
  close(): void;
}

/** The parts of an `AudioData` read here. */
export interface AudioDataLike {
  readonly numberOfFrames: number;
  readonly numberOfChannels: number;
  readonly sampleRate: number;
  readonly timestamp: number;
  copyTo(destination: Float32Array, options: { planeIndex: number; format: "f32-planar" }): void;
  close(): void;
}

export interface ChunkInit {
  type: "key" | "delta";
  timestamp: number;
  duration?: number;
  data: Uint8Array;
}

interface DecoderLike<Config> {
  readonly decodeQueueSize: number;
  configure(config: Config): void;
  decode(chunk: unknown): void;
  flush(): Promise<void>;
  close(): void;
}

export interface VideoConfig {
  codec: string;
  description?: Uint8Array;
  codedWidth?: number;
  codedHeight?: number;
}
export interface AudioConfig {
  codec: string;
  sampleRate: number;
  numberOfChannels: number;
  description?: Uint8Array;
}

interface DecoderCtor<Config, Output> {
  new (init: { output: (o: Output) => void; error: (e: Error) => void }): DecoderLike<Config>;
  isConfigSupported(config: Config): Promise<{ supported?: boolean }>;
}

/** `VideoDecoder`, `AudioDecoder` and the chunk constructors of this worker or page. */
export interface WebCodecsAv {
  VideoDecoder?: DecoderCtor<VideoConfig, VideoFrameLike>;
  AudioDecoder?: DecoderCtor<AudioConfig, AudioDataLike>;
  EncodedVideoChunk?: new (init: ChunkInit) => unknown;
  EncodedAudioChunk?: new (init: ChunkInit) => unknown;
}

export const platformWebCodecsAv = (): WebCodecsAv => globalThis as WebCodecsAv;

// --- shared pieces -------------------------------------------------------------------------------------------

/** A decode this module gives up on; the chooser hands the file to ffmpeg.wasm with `message` as the reason. */
class NotForWebCodecs extends Error {
  override name = "NotForWebCodecs";
}

/** ffmpeg's `print_fps`: two decimals unless the rate is whole (29.97, 25), which decode.ts then parses back. */
export function printedFps(fps: number): number {
  const v = Math.round(fps * 100);
  if (v === 0) return Number(fps.toFixed(4));
  return v % 100 ? Number(fps.toFixed(2)) : Math.round(fps);
}

/** ffmpeg's "Duration: hh:mm:ss.cc" (rounded to the nearest centisecond), as decode.ts reads it back. */
const printedDuration = (s: number | null) => (s === null ? null : Math.floor((s + 0.005) * 100) / 100);

function mediaInfo(
  d: Demuxed,
  video: DemuxedVideoTrack | undefined,
  audio: DemuxedAudioTrack | undefined,
): MediaInfo {
  return {
    format: d.format,
    durationS: printedDuration(d.durationS),
    video: video
      ? {
          codec: video.codecName,
          width: video.codedWidth,
          height: video.codedHeight,
          fps: video.fps && printedFps(video.fps),
        }
      : null,
    audio: audio ? { codec: audio.codecName, sampleRate: audio.sampleRate, channels: audio.channels } : null,
    still: false,
  };
}

/** Feeds `chunks` to a decoder, at most `depth` queued at once, then flushes; outputs go to `onOutput`. */
async function runDecoder<Config, Output extends { close(): void }>(
  Ctor: DecoderCtor<Config, Output>,
  Chunk: new (init: ChunkInit) => unknown,
  config: Config,
  chunks: readonly DemuxedChunk[],
  onOutput: (o: Output) => Promise<void> | void,
  signal: AbortSignal | undefined,
): Promise<void> {
  let failure: Error | null = null;
  let work = Promise.resolve();
  const decoder = new Ctor({
    output: (o) => {
      work = work.then(async () => {
        try {
          if (!failure && !signal?.aborted) await onOutput(o);
        } catch (e) {
          failure ??= e instanceof Error ? e : new Error(String(e));
        } finally {
          o.close();
        }
      });
    },
    error: (e) => {
      failure ??= e;
    },
  });
  const stop = () => {
    try {
      decoder.close();
    } catch {
      // already closed
    }
  };
  signal?.addEventListener("abort", stop, { once: true });
  try {
    decoder.configure(config);
    for (const c of chunks) {
      if (failure || signal?.aborted) break;
      decoder.decode(
        new Chunk({
          type: c.key ? "key" : "delta",
          timestamp: c.timestampUs,
          duration: c.durationUs,
          data: c.data,
        }),
      );
      // a bounded queue: each queued chunk holds a copy of its bytes
      while (decoder.decodeQueueSize > 16 && !failure && !signal?.aborted)
        await new Promise((r) => setTimeout(r, 1));
    }
    if (!failure && !signal?.aborted) await decoder.flush();
    await work;
  } catch (e) {
    failure ??= e instanceof Error ? e : new Error(String(e));
  } finally {
    signal?.removeEventListener("abort", stop);
    stop();
    await work;
  }
  if (signal?.aborted) throw new CancelledError();
  if (failure) throw failure;
}

// --- video ----------------------------------------------------------------------------------------------------

export interface FramePlan {
  /** Output frame count. */
  count: number;
  /** For each input timestamp (µs) that is shown: the output indices it fills. */
  ticks: Map<number, number[]>;
}

/**
 * ffmpeg's `-ss S -t D` trim then `fps=F` (rounding to nearest, eof_action round) over frames given as
 * [presentation µs, duration µs]: which output ticks each input frame fills.
 */
export function planFrames(
  frames: readonly (readonly [number, number])[],
  fps: number,
  startS = 0,
  durationS?: number,
): FramePlan {
  const sorted = [...frames].sort((a, b) => a[0] - b[0]);
  const startUs = startS * 1e6;
  // vf_trim keeps frames by their start, and measures the duration from the first frame it keeps
  const from = sorted.findIndex(([t]) => t >= startUs);
  const ticks = new Map<number, number[]>();
  if (from < 0) return { count: 0, ticks };
  const endUs = durationS === undefined ? Number.POSITIVE_INFINITY : sorted[from]![0] + durationS * 1e6;
  const kept = sorted.slice(from).filter(([t]) => t < endUs);
  // vf_fps: pts rescaled to 1/F with AV_ROUND_NEAR_INF. EOF comes at the first frame the trim cuts off, or at the
  // end of the last frame (measured against ffmpeg 5.1 in webcodecs-av.test.ts)
  const round = (us: number) => Math.round(((us - startUs) / 1e6) * fps + 1e-9);
  const last = kept.at(-1)!;
  const after = sorted.find(([t]) => t >= endUs);
  const stop = round(after ? after[0] : last[0] + last[1]);
  const q0 = round(kept[0]![0]);
  let next = q0;
  for (let i = 0; i < kept.length; i++) {
    // frame i is output on each tick until the next frame is due (a frame whose successor is already due is
    // dropped), and never from the EOF tick on
    const limit = Math.min(i + 1 < kept.length ? round(kept[i + 1]![0]) : Number.POSITIVE_INFINITY, stop);
    while (next < limit) {
      const list = ticks.get(kept[i]![0]) ?? [];
      list.push(next++ - q0);
      ticks.set(kept[i]![0], list);
    }
  }
  return { count: Math.max(0, next - q0), ticks };
}

type Matrix = YuvMatrix;
const KR_KB: Record<Matrix, [number, number]> = {
  bt601: [0.299, 0.114],
  bt709: [0.2126, 0.0722],
  bt2020: [0.2627, 0.0593],
};

/**
 * Planar or semi-planar YUV (8-bit) → packed RGBA, nearest-neighbour chroma. `planes` are [Y, U, V] (or
 * [Y, UV] for NV12) with their layouts; `sx`/`sy` are the chroma subsampling shifts.
 */
export function yuvToRgba(
  src: Uint8Array,
  layouts: readonly PlaneLayoutLike[],
  width: number,
  height: number,
  chroma: { sx: number; sy: number; interleaved: boolean },
  matrix: Matrix,
  fullRange: boolean,
  out: Uint8Array,
): void {
  const [kr, kb] = KR_KB[matrix];
  const kg = 1 - kr - kb;
  const ys = fullRange ? 1 : 255 / 219;
  const cs = fullRange ? 1 : 255 / 224;
  const y0 = fullRange ? 0 : 16;
  const rv = 2 * (1 - kr) * cs;
  const bu = 2 * (1 - kb) * cs;
  const gu = ((2 * (1 - kb) * kb) / kg) * cs;
  const gv = ((2 * (1 - kr) * kr) / kg) * cs;
  const [ly, lu, lv] = [layouts[0]!, layouts[1]!, layouts[chroma.interleaved ? 1 : 2]!];
  const vOff = chroma.interleaved ? 1 : 0;
  const step = chroma.interleaved ? 2 : 1;
  for (let y = 0; y < height; y++) {
    const yRow = ly.offset + y * ly.stride;
    const cy = y >> chroma.sy;
    const uRow = lu.offset + cy * lu.stride;
    const vRow = lv.offset + cy * lv.stride + vOff;
    let o = y * width * 4;
    for (let x = 0; x < width; x++, o += 4) {
      const cx = (x >> chroma.sx) * step;
      const l = (src[yRow + x]! - y0) * ys;
      const u = src[uRow + cx]! - 128;
      const v = src[vRow + cx]! - 128;
      const r = l + rv * v;
      const g = l - gu * u - gv * v;
      const b = l + bu * u;
      // a Uint8Array truncates (and wraps): clamp, then + 0.5 rounds
      out[o] = r < 0 ? 0 : r > 255 ? 255 : r + 0.5;
      out[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g + 0.5;
      out[o + 2] = b < 0 ? 0 : b > 255 ? 255 : b + 0.5;
      out[o + 3] = 255;
    }
  }
}

const YUV: Readonly<Record<string, { sx: number; sy: number; interleaved: boolean }>> = {
  I420: { sx: 1, sy: 1, interleaved: false },
  I420A: { sx: 1, sy: 1, interleaved: false },
  I422: { sx: 1, sy: 0, interleaved: false },
  I444: { sx: 0, sy: 0, interleaved: false },
  NV12: { sx: 1, sy: 1, interleaved: true },
};
const RGB_ORDER: Readonly<Record<string, "rgba" | "bgra">> = {
  RGBA: "rgba",
  RGBX: "rgba",
  BGRA: "bgra",
  BGRX: "bgra",
};

/** A decoded frame → RGB24 as displayed (rotation/flip applied). */
async function frameToRgb(
  frame: VideoFrameLike,
  track: DemuxedVideoTrack,
): Promise<{ data: Uint8Array; width: number; height: number }> {
  const width = frame.visibleRect?.width ?? frame.codedWidth;
  const height = frame.visibleRect?.height ?? frame.codedHeight;
  const yuv = frame.format ? YUV[frame.format] : undefined;
  const order = frame.format ? RGB_ORDER[frame.format] : undefined;
  let rgba: Uint8Array;
  if (yuv) {
    const planes = new Uint8Array(frame.allocationSize());
    const layouts = await frame.copyTo(planes);
    rgba = new Uint8Array(width * height * 4);
    // ffmpeg 5.1 (vf_scale in_color_matrix=auto) converts with the matrix the stream signals, else BT.601. The
    // frame's colorSpace cannot stand in for that: Chromium reports BT.709 for an unsignalled H.264 or VP8 stream.
    const full = track.fullRange ?? frame.colorSpace?.fullRange ?? false;
    yuvToRgba(planes, layouts, width, height, yuv, track.matrix ?? "bt601", full === true, rgba);
  } else if (order) {
    rgba = new Uint8Array(frame.allocationSize());
    const [l] = await frame.copyTo(rgba);
    if (l && (l.offset !== 0 || l.stride !== width * 4))
      throw new NotForWebCodecs(`a padded ${frame.format} frame`);
  } else {
    // high bit depth and other layouts: the browser converts (its own matrix and rounding)
    rgba = new Uint8Array(frame.allocationSize({ format: "RGBA" }));
    await frame.copyTo(rgba, { format: "RGBA" });
  }
  return orientToRgb(rgba, width, height, track.rotation, track.flip, order ?? "rgba");
}

/**
 * RGB24 w×h → W×H by exact area averaging (each output pixel the mean of the input area it covers, with
 * fractional edge weights): the filter `flags=area` asks swscale for, applied here to RGB rather than to YUV.
 */
export function areaScaleRgb(src: Uint8Array, w: number, h: number, W: number, H: number): Uint8Array {
  const weights = (n: number, N: number) => {
    const out: [number, number][][] = [];
    const step = n / N;
    for (let o = 0; o < N; o++) {
      const a = o * step;
      const b = a + step;
      const list: [number, number][] = [];
      for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
        const wgt = Math.min(b, i + 1) - Math.max(a, i);
        if (wgt > 1e-9) list.push([i, wgt / step]);
      }
      out.push(list);
    }
    return out;
  };
  const wx = weights(w, W);
  const wy = weights(h, H);
  const row = new Float32Array(W * 3);
  const out = new Uint8Array(W * H * 3);
  for (let Y = 0; Y < H; Y++) {
    row.fill(0);
    for (const [y, fy] of wy[Y]!)
      for (let X = 0; X < W; X++)
        for (const [x, fx] of wx[X]!) {
          const s = (y * w + x) * 3;
          const f = fx * fy;
          row[X * 3] += src[s]! * f;
          row[X * 3 + 1] += src[s + 1]! * f;
          row[X * 3 + 2] += src[s + 2]! * f;
        }
    for (let i = 0; i < W * 3; i++) out[Y * W * 3 + i] = Math.min(255, row[i]! + 0.5);
  }
  return out;
}

/** The chunks a decode of presentation range [fromUs, toUs) needs: from the key frame before, in decode order. */
function videoChunks(chunks: readonly DemuxedChunk[], needed: ReadonlySet<number>): DemuxedChunk[] {
  let first = -1;
  let last = -1;
  chunks.forEach((c, i) => {
    if (needed.has(c.timestampUs)) {
      if (first < 0) first = i;
      last = i;
    }
  });
  if (first < 0) return [];
  while (first > 0 && !chunks[first]!.key) first--;
  if (!chunks[first]!.key) throw new NotForWebCodecs("the video does not start with a key frame");
  return chunks.slice(first, last + 1);
}

export async function decodeVideoWebCodecs(
  av: WebCodecsAv,
  name: string,
  d: Demuxed,
  opts: Trim & { maxBytes?: number; signal?: AbortSignal; onProgress?: (ratio: number) => void } = {},
): Promise<DecodedVideo> {
  const { VideoDecoder, EncodedVideoChunk } = av;
  if (!VideoDecoder || !EncodedVideoChunk)
    throw new NotForWebCodecs("WebCodecs VideoDecoder is not available here");
  const track = d.tracks.find((t): t is DemuxedVideoTrack => t.kind === "video");
  if (!track) throw new NotForWebCodecs("no video track found");
  if (!track.codec) throw new NotForWebCodecs(`WebCodecs has no codec string for ${track.codecName}`);
  if (track.unsupported) throw new NotForWebCodecs(track.unsupported);
  if (!track.fps) throw new NotForWebCodecs("the video has no frame rate");
  const info = mediaInfo(
    d,
    track,
    d.tracks.find((t): t is DemuxedAudioTrack => t.kind === "audio"),
  );
  checkTrim(name, opts, info.durationS);
  const config: VideoConfig = {
    codec: track.codec,
    ...(track.description ? { description: track.description } : {}),
    ...(track.codedWidth > 0 ? { codedWidth: track.codedWidth, codedHeight: track.codedHeight } : {}),
  };
  const support = await VideoDecoder.isConfigSupported(config).catch(() => ({ supported: false }));
  if (!support.supported) throw new NotForWebCodecs(`WebCodecs does not decode ${track.codec} here`);

  const fps = printedFps(track.fps);
  const plan = planFrames(
    track.chunks.map((c) => [c.timestampUs, c.durationUs] as const),
    fps,
    opts.startS,
    opts.durationS,
  );
  if (plan.count === 0) throw new NotForWebCodecs("no frames in the chosen range");
  // decode.ts' budget: the same expected frame count and scale factor
  const total = info.durationS ?? Number.POSITIVE_INFINITY;
  const seconds = Math.min(opts.durationS ?? total, total - (opts.startS ?? 0));
  const expectedFrames = Number.isFinite(seconds) ? Math.ceil(seconds * fps) + 1 : plan.count;
  const maxBytes = opts.maxBytes ?? 512 * 1024 ** 2;
  const turned = track.rotation === 90 || track.rotation === 270;
  const [iw, ih] = turned ? [track.codedHeight, track.codedWidth] : [track.codedWidth, track.codedHeight];
  const scale =
    iw * ih * 3 * expectedFrames > maxBytes ? Math.sqrt(maxBytes / (iw * ih * 3 * expectedFrames)) : 1;

  let out: Uint8Array | null = null;
  let size = { width: 0, height: 0, frameBytes: 0, srcWidth: 0, srcHeight: 0 };
  let filled = 0;
  const chunks = videoChunks(track.chunks, new Set(plan.ticks.keys()));
  await runDecoder(
    VideoDecoder,
    EncodedVideoChunk,
    config,
    chunks,
    async (frame) => {
      const at = plan.ticks.get(frame.timestamp);
      if (!at) return;
      plan.ticks.delete(frame.timestamp); // one decode per timestamp
      let rgb = await frameToRgb(frame, track);
      if (!out) {
        const even = (n: number) => 2 * Math.trunc((n * scale) / 2 + 0.5);
        const [width, height] = scale < 1 ? [even(rgb.width), even(rgb.height)] : [rgb.width, rgb.height];
        if (width < 1 || height < 1) throw new NotForWebCodecs("frames scaled to nothing");
        size = { width, height, frameBytes: width * height * 3, srcWidth: rgb.width, srcHeight: rgb.height };
        out = new Uint8Array(size.frameBytes * plan.count);
      }
      if (rgb.width !== size.srcWidth || rgb.height !== size.srcHeight)
        throw new NotForWebCodecs("the picture size changes mid-stream");
      if (scale < 1)
        rgb = { ...rgb, data: areaScaleRgb(rgb.data, rgb.width, rgb.height, size.width, size.height) };
      for (const k of at) out.set(rgb.data, k * size.frameBytes);
      filled += at.length;
      opts.onProgress?.(filled / plan.count);
    },
    opts.signal,
  );
  if (!out || filled < plan.count)
    throw new NotForWebCodecs(`the decoder returned ${filled} of ${plan.count} frames`);
  const numFrames = plan.count;
  return {
    data: out,
    numFrames,
    width: size.width,
    height: size.height,
    fps,
    durationS: numFrames / fps,
    sourceDurationS: info.durationS ?? endOf(track.chunks) ?? numFrames / fps,
    scaledFrom: scale < 1 ? { width: size.srcWidth, height: size.srcHeight } : null,
    info,
  };
}

const endOf = (chunks: readonly DemuxedChunk[]) =>
  chunks.length ? printedDuration(Math.max(...chunks.map((c) => c.timestampUs + c.durationUs)) / 1e6) : null;

// --- audio ----------------------------------------------------------------------------------------------------

export async function decodeAudioWebCodecs(
  av: WebCodecsAv,
  name: string,
  d: Demuxed,
  opts: Trim & { signal?: AbortSignal; onProgress?: (ratio: number) => void } = {},
): Promise<DecodedAudio> {
  const { AudioDecoder, EncodedAudioChunk } = av;
  if (!AudioDecoder || !EncodedAudioChunk)
    throw new NotForWebCodecs("WebCodecs AudioDecoder is not available here");
  const track = d.tracks.find((t): t is DemuxedAudioTrack => t.kind === "audio");
  if (!track) throw new NotForWebCodecs("no audio track found");
  if (!track.codec) throw new NotForWebCodecs(`WebCodecs has no codec string for ${track.codecName}`);
  if (track.unsupported) throw new NotForWebCodecs(track.unsupported);
  const info = mediaInfo(
    d,
    d.tracks.find((t): t is DemuxedVideoTrack => t.kind === "video"),
    track,
  );
  checkTrim(name, opts, info.durationS);
  const config: AudioConfig = {
    codec: track.codec,
    sampleRate: track.sampleRate,
    numberOfChannels: track.channels,
    ...(track.description ? { description: track.description } : {}),
  };
  const support = await AudioDecoder.isConfigSupported(config).catch(() => ({ supported: false }));
  if (!support.supported) throw new NotForWebCodecs(`WebCodecs does not decode ${track.codec} here`);

  const startUs = Math.max(0, (opts.startS ?? 0) * 1e6);
  const lastEnd = track.endUs ?? endOfUs(track.chunks);
  const endUs = Math.min(
    opts.durationS === undefined ? Number.POSITIVE_INFINITY : startUs + opts.durationS * 1e6,
    lastEnd,
  );
  // where each chunk's first sample lies: MP4 times are exact; Matroska's are rounded to 1 ms, so WebM audio is
  // laid out by adding up the chunk durations from the track's first chunk (exact for Opus: read from each packet)
  const starts: number[] = [];
  let at = track.chunks[0]?.timestampUs ?? 0;
  for (const c of track.chunks) {
    starts.push(d.container === "webm" ? at : c.timestampUs);
    at += c.durationUs;
  }
  // from a chunk at least 200 ms before the start (Opus asks for 80 ms of pre-roll and is still 6e-3 rel. L2 off
  // the continuous decode after it, 1e-4 after 200 ms; AAC needs one frame), to two chunks past the end
  let from = 0;
  while (from + 1 < starts.length && starts[from + 1]! <= startUs - 200_000) from++;
  let to = from;
  while (to < starts.length && starts[to]! < endUs) to++;
  const chunks = track.chunks.slice(from, Math.min(to + 2, starts.length));
  if (chunks.length === 0) throw new NotForWebCodecs("no audio in the chosen range");

  const pieces: Float32Array[][] = [];
  let sampleRate = 0;
  let channels = 0;
  let decoded = 0; // samples since the first fed chunk
  let keepFrom = 0;
  let keepTo = 0;
  // Chromium's Opus decoder drops the OpusHead pre-skip from its first output after every configure, wherever
  // decoding starts (measured in e2e/decode.e2e.ts): its first sample lies that much after the first chunk's
  const preSkip =
    track.codec === "opus" && track.description && track.description.length >= 12
      ? ((track.description[10]! | (track.description[11]! << 8)) * 1e6) / 48000
      : 0;
  const t0 = starts[from]! + preSkip;
  await runDecoder(
    AudioDecoder,
    EncodedAudioChunk,
    config,
    chunks,
    (a) => {
      if (sampleRate === 0) {
        sampleRate = a.sampleRate;
        channels = a.numberOfChannels;
        // chunk times are whole µs: round to the nearest sample (AAC priming is 1024 samples, not 1024.002)
        keepFrom = Math.round(((startUs - t0) * sampleRate) / 1e6);
        keepTo = Math.round(((endUs - t0) * sampleRate) / 1e6);
      }
      if (a.sampleRate !== sampleRate || a.numberOfChannels !== channels)
        throw new NotForWebCodecs("the sample rate or channel count changes mid-stream");
      const lo = Math.max(keepFrom - decoded, 0);
      const hi = Math.min(keepTo - decoded, a.numberOfFrames);
      if (hi > lo) {
        const planes = Array.from({ length: channels }, (_, c) => {
          const all = new Float32Array(a.numberOfFrames);
          a.copyTo(all, { planeIndex: c, format: "f32-planar" });
          return lo === 0 && hi === all.length ? all : all.slice(lo, hi);
        });
        pieces.push(planes);
      }
      decoded += a.numberOfFrames;
      if (keepTo > keepFrom)
        opts.onProgress?.(Math.min(1, Math.max(0, (decoded - keepFrom) / (keepTo - keepFrom))));
    },
    opts.signal,
  );
  const n = pieces.reduce((s, p) => s + p[0]!.length, 0);
  const wantS = (endUs - startUs) / 1e6;
  if (n < 1 || n / sampleRate < 0.9 * wantS)
    throw new NotForWebCodecs(
      `the decoder returned ${(n / Math.max(1, sampleRate)).toFixed(2)} of ${wantS.toFixed(2)} s`,
    );
  const out = Array.from({ length: channels }, (_, c) => {
    const ch = new Float32Array(n);
    let at = 0;
    for (const p of pieces) {
      ch.set(p[c]!, at);
      at += p[c]!.length;
    }
    return ch;
  });
  return {
    channels: out,
    sampleRate,
    durationS: n / sampleRate,
    sourceDurationS: info.durationS ?? printedDuration(lastEnd / 1e6) ?? n / sampleRate,
    info: { ...info, audio: { codec: track.codecName, sampleRate, channels } },
  };
}

const endOfUs = (chunks: readonly DemuxedChunk[]) =>
  chunks.reduce((m, c) => Math.max(m, c.timestampUs + c.durationUs), 0);

// --- choosing -------------------------------------------------------------------------------------------------

export interface AvDecodeChoice<T> {
  /** "auto": WebCodecs when the browser can, else ffmpeg.wasm; "ffmpeg.wasm": always ffmpeg.wasm. */
  prefer?: "auto" | "ffmpeg.wasm";
  signal?: AbortSignal;
  /** The decode through ffmpeg.wasm (decode.ts in an `FfmpegHost` session). */
  ffmpeg: () => Promise<T>;
  /** Defaults to this scope's WebCodecs; tests pass fakes. */
  webCodecs?: WebCodecsAv;
  /** Where the reasons for taking ffmpeg.wasm go (the job's log events). */
  log?: (level: "info" | "warn", message: string) => void;
  /**
   * The share of a WebCodecs decode done (0–1: frames placed, or samples of the range decoded), as output arrives.
   * The ffmpeg.wasm path reports through its own listener (`FfmpegHost.use`).
   */
  onProgress?: (ratio: number) => void;
}

export type Chosen<T> = T & {
  decoder: InputDecoderType;
  /** Why WebCodecs was tried and ffmpeg.wasm decoded the file after all; null otherwise. */
  fallback: string | null;
};

const describeError = (e: unknown) =>
  e instanceof NotForWebCodecs ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);

async function choose<T>(
  name: string,
  data: Uint8Array,
  choice: AvDecodeChoice<T>,
  kind: "video" | "audio",
  run: (av: WebCodecsAv, d: Demuxed) => Promise<T>,
): Promise<Chosen<T>> {
  const log = choice.log ?? (() => undefined);
  const viaFfmpeg = async (fallback: string | null): Promise<Chosen<T>> => ({
    ...(await choice.ffmpeg()),
    decoder: InputDecoder.Ffmpeg,
    fallback,
  });
  if (choice.prefer === "ffmpeg.wasm") return viaFfmpeg(null);
  const av = choice.webCodecs ?? platformWebCodecsAv();
  const Decoder = kind === "video" ? av.VideoDecoder : av.AudioDecoder;
  if (!Decoder) {
    log(
      "info",
      `"${name}": WebCodecs ${kind === "video" ? "VideoDecoder" : "AudioDecoder"} is not available here; decoding with ffmpeg.wasm.`,
    );
    return viaFfmpeg(null);
  }
  if (!sniffContainer(data)) {
    log("info", `"${name}": not an MP4, MOV, WebM or Matroska file; decoding with ffmpeg.wasm.`);
    return viaFfmpeg(null);
  }
  let reason: string;
  try {
    const d = demux(data, name);
    return { ...(await run(av, d)), decoder: InputDecoder.WebCodecs, fallback: null };
  } catch (e) {
    if (choice.signal?.aborted) throw new CancelledError();
    // the trim outside the file is the user's to fix whichever decoder runs; a damaged container is ffmpeg's call
    if (e instanceof StudioError && !(e.details && "container" in e.details)) throw e;
    reason = describeError(e);
  }
  const fallback = `WebCodecs could not decode the ${kind} (${reason}); ffmpeg.wasm decoded it`;
  log("warn", `"${name}": WebCodecs could not decode the ${kind} (${reason}); falling back to ffmpeg.wasm.`);
  return viaFfmpeg(fallback);
}

/** A WebCodecs decode's options: the trim plus the choice's cancellation and progress listener. */
const decodeOpts = <O extends object, T>(opts: O, choice: AvDecodeChoice<T>) => ({
  ...opts,
  ...(choice.signal ? { signal: choice.signal } : {}),
  ...(choice.onProgress ? { onProgress: choice.onProgress } : {}),
});

/** A video's frames through WebCodecs where it can, ffmpeg.wasm (`choice.ffmpeg`) otherwise. */
export function decodeVideoPreferWebCodecs(
  name: string,
  data: Uint8Array,
  opts: Trim & { maxBytes?: number },
  choice: AvDecodeChoice<DecodedVideo>,
): Promise<Chosen<DecodedVideo>> {
  return choose(name, data, choice, "video", (av, d) =>
    decodeVideoWebCodecs(av, name, d, decodeOpts(opts, choice)),
  );
}

/** An audio track through WebCodecs where it can, ffmpeg.wasm (`choice.ffmpeg`) otherwise. */
export function decodeAudioPreferWebCodecs(
  name: string,
  data: Uint8Array,
  opts: Trim,
  choice: AvDecodeChoice<DecodedAudio>,
): Promise<Chosen<DecodedAudio>> {
  return choose(name, data, choice, "audio", (av, d) =>
    decodeAudioWebCodecs(av, name, d, decodeOpts(opts, choice)),
  );
}
