/**
 * AV-align as released (`eval/av-align/av-align.py` of the official code, SPEC §6.3), on decoded media:
 *
 * 1. audio peaks: `librosa.load` (mono, 22050 Hz) → `onset_strength` → `onset_detect` → `frames_to_time`;
 * 2. video peaks: grey frames (`COLOR_BGR2GRAY`), trajectory `[OF(f0,f1), OF(f0,f1), OF(f1,f2), …]` (the first
 *    pair DUPLICATED, so n frames give n values) of the mean Farnebäck flow magnitude, strict local maxima
 *    `arr[i−1] < arr[i] > arr[i+1]` at times i / fps;
 * 3. IoU: an audio peak counts once if some video peak v has v − 1/fps < a < v + 1/fps;
 *    IoU = hits / (|A| + |V| − hits);
 * 4. dataset score: Σ IoU / number of videos, counting videos whose audio is missing in the denominator.
 *
 * Edge cases the reference leaves unguarded, and what we do:
 * - no audio peaks and no video peaks: the reference divides by zero (ZeroDivisionError). `peaksIoU` returns NaN
 *   and `avAlignFile` marks the file `degenerate`; `avAlignScore` propagates NaN unless told to count such
 *   files as 0 (`degenerate: "zero"`).
 * - a single frame: the reference raises IndexError (`frames[1]`); we throw `BadInputError`. No frames: no
 *   video peaks (the reference returns `[]`).
 * - `--size` frame resizing (off by default) is not implemented: pass frames at the size you want measured.
 *
 * Status: APPROXIMATE. The Farnebäck port matches OpenCV 4.6 to ~1e-6 px on our fixtures (the official code
 * pins OpenCV 4.8.1 with IPP, not available here), the onset port matches librosa 0.10.1 to float32 rounding,
 * but librosa.load's soxr resampling is replaced by our own sinc resampler (resample.ts), and the video decoder
 * (OpenCV/FFmpeg's YUV→BGR) is whatever produced the frames.
 */
import { BadInputError } from "../errors.js";
import {
  AV_ALIGN_FARNEBACK,
  FarnebackFrameCache,
  type FarnebackParams,
  farnebackFlow,
  grayToF32,
  meanFlowMagnitude,
} from "./farneback.js";
import { type PixelOrder, toGray } from "./image.js";
import { framesToTime, LIBROSA_ONSET_DEFAULTS, onsetDetect, onsetStrength } from "./onsets.js";
import { librosaLoad } from "./resample.js";

/** How closely this port reproduces the released numbers; show it next to any AV-align score. */
export const AV_ALIGN_FIDELITY = Object.freeze({
  status: "approximate",
  reasons: Object.freeze([
    "optical flow: OpenCV Farnebäck port, equal to cv2 4.6 to ~1e-6 px on test clips; the reference pins 4.8.1 (IPP build)",
    "onsets: librosa 0.10.1 port, equal to float32 rounding; resampling to 22050 Hz is our sinc, not soxr HQ",
    "decoding: frames and audio come from our decoder, not OpenCV/FFmpeg and soundfile",
  ]),
} as const);

/** Decoded audio: one mono Float32Array or one per channel, PCM in [−1, 1]. */
export interface AudioInput {
  channels: Float32Array | readonly Float32Array[];
  sampleRate: number;
}

/** Decoded video: 8-bit frames of `width × height` in `order` layout, at `fps` (OpenCV's `CAP_PROP_FPS`). */
export interface VideoInput {
  frames: Iterable<Uint8Array>;
  width: number;
  height: number;
  fps: number;
  order: PixelOrder;
}

/** `detect_audio_peaks`: onset times in seconds. */
export function detectAudioPeaks(audio: AudioInput): number[] {
  const sr = LIBROSA_ONSET_DEFAULTS.sr;
  const y = librosaLoad(audio.channels, audio.sampleRate, sr);
  if (y.length === 0) return [];
  const env = onsetStrength(y, { sr });
  return framesToTime(onsetDetect(env, { sr }), sr);
}

/**
 * Streaming `detect_video_peaks` trajectory: push frames one at a time; each frame is converted and expanded
 * once (two frames are held). `trajectory` follows the reference, first pair duplicated.
 */
export class FlowTrajectory {
  private prev: FarnebackFrameCache | null = null;
  private readonly values: number[] = [];
  private count = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly order: PixelOrder,
    readonly params: Readonly<FarnebackParams> = AV_ALIGN_FARNEBACK,
  ) {}

  push(frame: Uint8Array): void {
    const gray = toGray(frame, this.width, this.height, this.order);
    const cur = new FarnebackFrameCache(grayToF32(gray, this.width, this.height), this.params);
    if (this.prev) {
      const m = meanFlowMagnitude(farnebackFlow(this.prev, cur));
      if (this.count === 1) this.values.push(m); // compute_of(frames[0], frames[1]) appears twice
      this.values.push(m);
    }
    this.prev = cur;
    this.count++;
  }

  /** Mean flow magnitudes, one per frame. */
  get trajectory(): number[] {
    if (this.count === 1) {
      throw new BadInputError(
        "AV-align needs at least 2 video frames (the reference fails on a 1-frame video).",
      );
    }
    return this.values.slice();
  }
}

/** `find_local_max_indexes`: strict local maxima of `arr`, as times i / fps. */
export function findLocalMaxTimes(arr: readonly number[], fps: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < arr.length - 1; i++) if (arr[i - 1] < arr[i] && arr[i] > arr[i + 1]) out.push(i / fps);
  return out;
}

/** `detect_video_peaks`: the flow trajectory and its peak times. */
export function detectVideoPeaks(
  video: VideoInput,
  params: Readonly<FarnebackParams> = AV_ALIGN_FARNEBACK,
): { trajectory: number[]; peaks: number[] } {
  if (!(video.fps > 0)) throw new BadInputError(`Video fps must be positive (got ${video.fps}).`);
  const t = new FlowTrajectory(video.width, video.height, video.order, params);
  for (const f of video.frames) t.push(f);
  const trajectory = t.trajectory;
  return { trajectory, peaks: findLocalMaxTimes(trajectory, video.fps) };
}

/**
 * `calc_intersection_over_union`. NaN when both lists are empty (the reference divides by zero there).
 */
export function peaksIoU(audioPeaks: readonly number[], videoPeaks: readonly number[], fps: number): number {
  let hits = 0;
  for (const a of audioPeaks) {
    for (const v of videoPeaks) {
      if (v - 1 / fps < a && a < v + 1 / fps) {
        hits++;
        break;
      }
    }
  }
  const union = audioPeaks.length + videoPeaks.length - hits;
  return union === 0 ? Number.NaN : hits / union;
}

export interface AvAlignFileResult {
  /** IoU of audio and video peaks; NaN when `degenerate`. */
  iou: number;
  /** Both peak lists are empty: the reference would raise ZeroDivisionError. */
  degenerate: boolean;
  audioPeaks: number[];
  videoPeaks: number[];
  trajectory: number[];
  fps: number;
}

/** AV-align of one video/audio pair (the per-file `tmp_score`). */
export function avAlignFile(
  audio: AudioInput,
  video: VideoInput,
  params: Readonly<FarnebackParams> = AV_ALIGN_FARNEBACK,
): AvAlignFileResult {
  const audioPeaks = detectAudioPeaks(audio);
  const { trajectory, peaks } = detectVideoPeaks(video, params);
  const iou = peaksIoU(audioPeaks, peaks, video.fps);
  return { iou, degenerate: Number.isNaN(iou), audioPeaks, videoPeaks: peaks, trajectory, fps: video.fps };
}

/**
 * The released dataset score: Σ IoU / (number of videos). `null` marks a video whose audio was missing: skipped
 * but still counted in the denominator, as the reference does. Degenerate files (NaN) make the score NaN unless
 * `degenerate: "zero"` counts them as 0.
 */
export function avAlignScore(
  perFile: readonly (number | null)[],
  options: { degenerate?: "nan" | "zero" } = {},
): number {
  if (perFile.length === 0) return Number.NaN; // the reference divides by len(files) = 0
  let s = 0;
  for (const v of perFile) {
    if (v === null) continue;
    s += Number.isNaN(v) && options.degenerate === "zero" ? 0 : v;
  }
  return s / perFile.length;
}
