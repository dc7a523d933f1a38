/**
 * Frames → ImageBind vision input `[1, S, 3, 2, 224, 224]`, as the vendored (MODIFIED) S&H
 * `load_and_transform_video_data` computes it (SPEC §3.6, §7.4; fixture `imagebind_prep_video`):
 *
 *  1. duration = T / fps (decord average fps); `ConstantClipsPerVideoSampler(clip_duration=1, S)`;
 *  2. clip frames `range(ceil(fps·start), min(ceil(fps·end), T))`; `UniformTemporalSubsample(2)` → the first
 *     and last frame of each clip;
 *  3. float32 / 255;
 *  4. pytorchvideo `ShortSideScale(224)`: short side → 224, long side → floor(long/short·224), bilinear,
 *     align_corners=False, NO antialias;
 *  5. `NormalizeVideo(CLIP mean, std)`;
 *  6. torchvision 0.17 `Resize((224, 224))` on the tensor: bilinear WITH antialias (a squash, no crop);
 *  7. stack → [S, 3, 2, 224, 224] → [1, S, 3, 2, 224, 224].
 *
 * Steps 4–6 are linear per axis (normalisation commutes with resizes whose weights sum to 1), so each axis
 * uses ONE composed banded matrix `R = Resize_aa ∘ ShortSideScale`, computed once in float64 per input size:
 * `out_c = (R_h · X_c · R_wᵀ − mean_c) / std_c`. The same matrices drive the differentiable path used for
 * generated video (A2V / joint; SPEC §4.1, §8 Q8) as two matmuls, so gradients flow to the frames.
 */
import { BadInputError } from "../../errors.js";
import type { Ops } from "../../ops/ops.js";
import { constantClipsPerVideo, decordClipFrames, uniformTemporalSubsample } from "../audio/clip_sampler.js";
import type { Fraction } from "../audio/fraction.js";
import {
  antialiasWeights,
  bilinearWeights,
  composeRows,
  denseRowsTransposed,
  type ResampleRows,
  resizePlanes,
} from "./resize.js";

/** OpenAI CLIP normalisation used by ImageBind's vision transforms. */
export const CLIP_MEAN: readonly [number, number, number] = Object.freeze([
  0.48145466, 0.4578275, 0.40821073,
]) as [number, number, number];
export const CLIP_STD: readonly [number, number, number] = Object.freeze([
  0.26862954, 0.26130258, 0.27577711,
]) as [number, number, number];
/** ImageBind vision resolution. */
export const IMAGEBIND_IMAGE_SIZE = 224;

export interface VideoClipOptions {
  /** Seconds per clip (S&H: 1). */
  clipDuration?: number;
  /** Frames kept per clip by UniformTemporalSubsample (S&H: 2). */
  samplesPerClip?: number;
}

export interface VideoClip {
  start: Fraction;
  end: Fraction;
  /** Frames decord decodes for the clip. */
  decoded: number[];
  /** The frames kept (first and last of `decoded` for 2 samples). */
  sampled: number[];
}

/**
 * The clips and frame indices of the ImageBind video path for `numFrames` frames at `fps` (SPEC §3.6 steps
 * 1–4). For generated video (SPEC §8 Q8) pass the generated frame count and its fps.
 */
export function imagebindVideoClips(
  numFrames: number,
  fps: number,
  clipsPerVideo: number,
  opts: VideoClipOptions = {},
): VideoClip[] {
  if (!(Number.isInteger(numFrames) && numFrames > 0))
    throw new BadInputError(`ImageBind video: the video has no frames (${numFrames})`);
  if (!(Number.isFinite(fps) && fps > 0))
    throw new BadInputError(`ImageBind video: fps must be > 0, got ${fps}`);
  const duration = numFrames / fps; // EncodedVideoDecord: float(len(reader)) / float(fps)
  const n = opts.samplesPerClip ?? 2;
  return constantClipsPerVideo(duration, opts.clipDuration ?? 1, clipsPerVideo).map((c, k) => {
    const decoded = decordClipFrames(c, fps, numFrames);
    if (decoded.length === 0)
      throw new BadInputError(
        `ImageBind video: clip ${k} contains no frame (video too short for its clips)`,
        {
          clip: k,
        },
      );
    return { ...c, decoded, sampled: uniformTemporalSubsample(decoded.length, n).map((i) => decoded[i]) };
  });
}

/** Flat frame indices `[S·samplesPerClip]` (clip-major) that ImageBind reads. */
export function imagebindFrameIndices(
  numFrames: number,
  fps: number,
  clipsPerVideo: number,
  opts: VideoClipOptions = {},
): number[] {
  return imagebindVideoClips(numFrames, fps, clipsPerVideo, opts).flatMap((c) => c.sampled);
}

/** S for a generated video (SPEC §8 Q8): ceil(duration), at least 1. */
export function clipsForDuration(numFrames: number, fps: number): number {
  return Math.max(1, Math.ceil(numFrames / fps));
}

/** pytorchvideo `short_side_scale` output size (floor of the scaled long side). */
export function shortSideScaleSize(
  height: number,
  width: number,
  size = IMAGEBIND_IMAGE_SIZE,
): [number, number] {
  return width < height
    ? [Math.floor((height / width) * size), size]
    : [size, Math.floor((width / height) * size)];
}

export interface VideoResize {
  /** Rows (H → 224) and columns (W → 224): Resize_aa((224, 224)) ∘ ShortSideScale(224). */
  rows: ResampleRows;
  cols: ResampleRows;
  /** Size after ShortSideScale. */
  scaled: [number, number];
}

const resizeCache = new Map<string, VideoResize>();

/** The composed per-axis resampling of SPEC §3.6 steps 4 + 6 for an H×W input (memoised). */
export function imagebindVideoResize(height: number, width: number): VideoResize {
  const key = `${height}x${width}`;
  const hit = resizeCache.get(key);
  if (hit) return hit;
  const S = IMAGEBIND_IMAGE_SIZE;
  const [h1, w1] = shortSideScaleSize(height, width);
  const r: VideoResize = Object.freeze({
    rows: composeRows(antialiasWeights(h1, S, "bilinear"), bilinearWeights(height, h1)),
    cols: composeRows(antialiasWeights(w1, S, "bilinear"), bilinearWeights(width, w1)),
    scaled: [h1, w1] as [number, number],
  });
  if (resizeCache.size > 32) resizeCache.clear();
  resizeCache.set(key, r);
  return r;
}

/** Decoded frames in decord layout `[T, H, W, C]` (C = 3 RGB, or 4 RGBA from a canvas; alpha ignored). */
export interface VideoFrames {
  data: Uint8Array | Uint8ClampedArray;
  numFrames: number;
  height: number;
  width: number;
  channels?: 3 | 4;
  fps: number;
}

/**
 * The ImageBind vision input of a decoded condition video: `[1, S, 3, samplesPerClip, 224, 224]` float32
 * (plain arrays; no gradient is needed for the condition).
 */
export function videoToImageBindInput(
  video: VideoFrames,
  clipsPerVideo: number,
  opts: VideoClipOptions = {},
): Float32Array {
  const { data, numFrames: T, height: H, width: W, fps } = video;
  const C = video.channels ?? 3;
  if (data.length !== T * H * W * C)
    throw new BadInputError(`ImageBind video: ${data.length} bytes do not hold ${T}×${H}×${W}×${C} frames`);
  const clips = imagebindVideoClips(T, fps, clipsPerVideo, opts);
  const n = clips[0].sampled.length;
  const S = clips.length;
  const { rows, cols } = imagebindVideoResize(H, W);
  const O = IMAGEBIND_IMAGE_SIZE;
  const plane = O * O;
  const out = new Float32Array(S * 3 * n * plane);
  const f32 = Math.fround;
  const mean = CLIP_MEAN.map(f32);
  const std = CLIP_STD.map(f32);
  clips.forEach((clip, s) => {
    clip.sampled.forEach((frame, t) => {
      const base = frame * H * W * C;
      // planes = RGB channels of this frame; uint8 → float32 / 255 (torch: float32 division)
      const res = resizePlanes(3, rows, cols, (c, y, x) => f32(data[base + (y * W + x) * C + c] / 255));
      for (let c = 0; c < 3; c++) {
        const dst = ((s * 3 + c) * n + t) * plane;
        for (let i = 0; i < plane; i++) out[dst + i] = (res[c * plane + i] - mean[c]) / std[c];
      }
    });
  });
  return out;
}

const normCache = new Map<string, { mean: Float32Array; std: Float32Array }>();
function normConstants(): { mean: Float32Array; std: Float32Array } {
  let hit = normCache.get("clip");
  if (!hit) {
    hit = { mean: Float32Array.from(CLIP_MEAN), std: Float32Array.from(CLIP_STD) };
    normCache.set("clip", hit);
  }
  return hit;
}

const denseCache = new Map<string, { rowsT: Float32Array; colsT: Float32Array }>();
function denseResize(height: number, width: number): { rowsT: Float32Array; colsT: Float32Array } {
  const key = `${height}x${width}`;
  let hit = denseCache.get(key);
  if (!hit) {
    const r = imagebindVideoResize(height, width);
    hit = { rowsT: denseRowsTransposed(r.rows), colsT: denseRowsTransposed(r.cols) };
    if (denseCache.size > 16) denseCache.clear();
    denseCache.set(key, hit);
  }
  return hit;
}

/**
 * Differentiable resize + normalise of already selected frames `[S·n, 3, H, W]` in [0, 1] (clip-major) →
 * `[1, S, 3, n, 224, 224]`: two matmuls with the constant composed resize matrices, then CLIP normalisation.
 */
export function sampledFramesToImageBindInput<T>(ops: Ops<T>, frames: T, clipsPerVideo: number): T {
  const shape = ops.shape(frames);
  if (shape.length !== 4 || shape[1] !== 3)
    throw new RangeError(`ImageBind frames must be [N, 3, H, W], got [${shape}]`);
  const [N, , H, W] = shape;
  if (N % clipsPerVideo !== 0) throw new RangeError(`${N} frames do not split into ${clipsPerVideo} clips`);
  const n = N / clipsPerVideo;
  const O = IMAGEBIND_IMAGE_SIZE;
  const { rowsT, colsT } = denseResize(H, W);
  let x = ops.reshape(frames, [N * 3, H, W]);
  x = ops.matmul(x, ops.constant(colsT, [W, O])); // [N3, H, 224w]
  x = ops.transpose(x, [0, 2, 1]); // [N3, 224w, H]
  x = ops.matmul(x, ops.constant(rowsT, [H, O])); // [N3, 224w, 224h]
  x = ops.transpose(x, [0, 2, 1]); // [N3, 224h, 224w]
  const { mean, std } = normConstants();
  let y = ops.reshape(x, [clipsPerVideo, n, 3, O, O]);
  y = ops.div(ops.sub(y, ops.constant(mean, [1, 1, 3, 1, 1])), ops.constant(std, [1, 1, 3, 1, 1]));
  y = ops.transpose(y, [0, 2, 1, 3, 4]); // [S, 3, n, 224, 224]
  return ops.reshape(y, [1, clipsPerVideo, 3, n, O, O]);
}

const indexCache = new Map<string, Int32Array>();

/**
 * Generated frames `[F, 3, H, W]` in [0, 1] at `fps` → ImageBind vision input `[1, S, 3, 2, 224, 224]`
 * (SPEC §4.1, §8 Q8: the frames are treated as a clip sequence exactly like a condition video). The frames
 * ImageBind reads are picked with an int32 gather; gradients flow back to `frames`.
 */
export function framesToImageBindInput<T>(
  ops: Ops<T>,
  frames: T,
  fps: number,
  clipsPerVideo: number,
  opts: VideoClipOptions = {},
): T {
  const shape = ops.shape(frames);
  if (shape.length !== 4) throw new RangeError(`frames must be [F, 3, H, W], got [${shape}]`);
  const key = `${shape[0]}|${fps}|${clipsPerVideo}|${opts.clipDuration ?? 1}|${opts.samplesPerClip ?? 2}`;
  let idx = indexCache.get(key);
  if (!idx) {
    idx = Int32Array.from(imagebindFrameIndices(shape[0], fps, clipsPerVideo, opts));
    if (indexCache.size > 64) indexCache.clear();
    indexCache.set(key, idx);
  }
  const picked = ops.gather(frames, ops.constant(idx, [idx.length]), 0);
  return sampledFramesToImageBindInput(ops, picked, clipsPerVideo);
}
