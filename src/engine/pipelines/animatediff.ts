/**
 * AnimateDiff as the pipelines use it (diffusers AnimateDiffPipeline v0.26 / guoyww AnimateDiff
 * `pipeline_animation.py`; SPEC §4.1, §5.2):
 *   # geometry: F frames at H×W → latent [1, 4, F, H/8, W/8] (H, W multiples of the VAE factor; F ≤ the motion
 *     modules' max_seq_length);
 *   # ε̂: the motion UNet with CLIP text states [uncond, cond] [2, 77, D] and CFG (SPEC §2.4);
 *   # decode: x = z / scaling_factor (0.18215 from the VAE config), b c f h w → (b f) c h w, each frame
 *     decoded separately, video = clamp(x/2 + 0.5, 0, 1) — in chunks of frames (diffusers `decode_chunk_size`).
 * The gradient path (SPEC §4.1, "decode with gradient only the frames ImageBind samples") picks those frames
 * from x0 BEFORE the VAE: frames are decoded independently, so the result equals decoding all of them.
 */
import { type EmbedFn, type EmbedPath, onTfjs } from "../aligner/hook.js";
import { BadInputError } from "../errors.js";
import type { AutoencoderKL } from "../models/diffusers/autoencoder_kl.js";
import type { UNetMotionModel } from "../models/diffusers/unet_motion_model.js";
import type { ImageBindModel } from "../models/imagebind/model.js";
import type { HostTensor } from "../ops/onnx/session.js";
import type { Ops } from "../ops/ops.js";
import type { ForwardFn, ForwardRunner } from "../ops/runner.js";
import type { TfjsOps } from "../ops/tfjs.js";
import {
  clipsForDuration,
  imagebindFrameIndices,
  sampledFramesToImageBindInput,
} from "../preprocess/video/imagebind_video.js";
import { predictNoiseCfgRows } from "./denoise.js";

export interface AnimateDiffModels {
  unet: UNetMotionModel;
  vae: AutoencoderKL;
}

export interface VideoGeometry {
  frames: number;
  height: number;
  width: number;
  fps: number;
  /** frames / fps. */
  durationS: number;
  /** [1, 4, F, H/8, W/8] */
  latentShape: number[];
  /** ImageBind clips of the generated video: S = ceil(duration) 1-s clips (SPEC §8 Q8). */
  clips: number;
  /** Frame indices ImageBind reads, clip-major (2 per clip: first and last frame of the clip, SPEC §3.6). */
  sampledFrames: number[];
}

export interface VideoShapeRequest {
  frames: number;
  height: number;
  width: number;
  fps: number;
}

/** diffusers AnimateDiffPipeline `check_inputs` + `prepare_latents` shapes, with the limits of these models. */
export function videoGeometry(m: AnimateDiffModels, r: VideoShapeRequest): VideoGeometry {
  const f = m.vae.scaleFactor;
  const maxFrames = m.unet.motion_config.motion_max_seq_length;
  if (!Number.isInteger(r.frames) || r.frames < 1 || r.frames > maxFrames)
    throw new BadInputError(
      `Frames must be an integer from 1 to ${maxFrames}, the motion modules' maximum (got ${r.frames}).`,
    );
  for (const [k, v] of [
    ["Height", r.height],
    ["Width", r.width],
  ] as const)
    if (!Number.isInteger(v) || v < f || v % f !== 0 || v > 2048)
      throw new BadInputError(`${k} must be a multiple of ${f} from ${f} to 2048 pixels (got ${v}).`);
  if (!(r.fps > 0 && r.fps <= 60))
    throw new BadInputError(`Frame rate must be in (0, 60] fps (got ${r.fps}).`);
  const clips = clipsForDuration(r.frames, r.fps);
  return {
    frames: r.frames,
    height: r.height,
    width: r.width,
    fps: r.fps,
    durationS: r.frames / r.fps,
    latentShape: [1, m.unet.config.in_channels, r.frames, r.height / f, r.width / f],
    clips,
    sampledFrames: imagebindFrameIndices(r.frames, r.fps, clips),
  };
}

/** The motion UNet forward for runners: sample [B, C, F, h, w], timestep [1], encoder_hidden_states [B, 77, D]. */
export const motionUnetForward =
  (m: AnimateDiffModels): ForwardFn =>
  (ops, xs) => ({
    eps: m.unet.forward(ops, xs.sample, xs.timestep, { encoderHiddenStates: xs.encoder_hidden_states }),
  });

/** ε̂ with CFG (SPEC §2.4); `states` [2, 77, D] = [CLIP(negative), CLIP(prompt)]. */
export function predictNoiseCfgVideo(
  unet: ForwardRunner,
  z: Float32Array,
  latentShape: readonly number[],
  t: number,
  states: HostTensor,
  guidanceScale: number,
): Promise<{ eps: Float32Array; uncond: Float32Array | null; cond: Float32Array }> {
  const names = { sample: "sample", cond: "encoder_hidden_states" };
  return predictNoiseCfgRows(unet, names, z, latentShape, t, states, guidanceScale);
}

/** VAE decode of frame latents [N, 4, h, w] (not yet divided by scaling_factor) → frames [N, 3, H, W] in [0, 1]. */
export function decodeFrames<T>(ops: Ops<T>, vae: AutoencoderKL, z: T): T {
  const x = vae.decode(ops, ops.mul(z, 1 / vae.config.scaling_factor));
  return ops.minimum(ops.maximum(ops.add(ops.mul(x, 0.5), 0.5), 0), 1);
}

/** Runner body of the final decode, one chunk of frames at a time: latent [N, 4, h, w] → frames [N, 3, H, W]. */
export const frameDecodeForward =
  (m: AnimateDiffModels): ForwardFn =>
  (ops, xs) => ({ frames: decodeFrames(ops, m.vae, xs.latent) });

/** [1, C, F, h, w] latent → the frame-major latents [F, C, h, w] of frames `idx` (host copy). */
export function frameLatents(
  latent: Float32Array,
  shape: readonly number[],
  idx: readonly number[],
): Float32Array {
  const [, c, f, h, w] = shape;
  const plane = h * w;
  const out = new Float32Array(idx.length * c * plane);
  idx.forEach((fi, n) => {
    for (let ch = 0; ch < c; ch++)
      out.set(latent.subarray((ch * f + fi) * plane, (ch * f + fi + 1) * plane), (n * c + ch) * plane);
  });
  return out;
}

/**
 * Decode the latent video chunk by chunk (diffusers `decode_chunk_size`; SPEC §4.1), so only one chunk's
 * activations are live: → RGB frames [F, H, W, 3] uint8 (AnimateDiff saves (x·255) as uint8; here rounded).
 */
export async function decodeVideoChunked(
  decoder: ForwardRunner,
  latent: Float32Array,
  shape: readonly number[],
  chunk: number,
): Promise<{ data: Uint8Array; numFrames: number; height: number; width: number }> {
  const [, c, f, h, w] = shape;
  let out: Uint8Array | null = null;
  let H = 0;
  let W = 0;
  for (let s = 0; s < f; s += chunk) {
    const idx = Array.from({ length: Math.min(chunk, f - s) }, (_, k) => s + k);
    const r = (
      await decoder.run({ latent: { data: frameLatents(latent, shape, idx), shape: [idx.length, c, h, w] } })
    ).frames;
    [, , H, W] = r.shape;
    out ??= new Uint8Array(f * H * W * 3);
    planarToRgb(r.data as Float32Array, idx.length, H, W, out, s);
  }
  return { data: out!, numFrames: f, height: H, width: W };
}

/** [N, 3, H, W] floats in [0, 1] → interleaved RGB bytes written at frame `offset` of `out` ([*, H, W, 3]). */
export function planarToRgb(
  x: Float32Array,
  n: number,
  H: number,
  W: number,
  out: Uint8Array,
  offset = 0,
): Uint8Array {
  const plane = H * W;
  for (let k = 0; k < n; k++)
    for (let c = 0; c < 3; c++) {
      const src = (k * 3 + c) * plane;
      const dst = (offset + k) * plane * 3 + c;
      for (let i = 0; i < plane; i++)
        out[dst + 3 * i] = Math.round(Math.min(1, Math.max(0, x[src + i])) * 255);
    }
  return out;
}

/**
 * The A2V / joint guidance path (SPEC §4.1, §8 Q8): x0 [1, 4, F, h, w] → the sampled frames' latents (each frame
 * once) → VAE decode → clamp(x/2 + 0.5) → ImageBind frames [1, S, 3, 2, 224, 224] → e_vision [1, D].
 * Differentiable on the tfjs executor; the other frames are never decoded.
 */
export function videoEmbed(m: AnimateDiffModels, imagebind: ImageBindModel, geo: VideoGeometry): EmbedFn {
  const unique = [...new Set(geo.sampledFrames)].sort((a, b) => a - b);
  const position = Int32Array.from(geo.sampledFrames.map((f) => unique.indexOf(f)));
  const identity = position.length === unique.length && position.every((p, k) => p === k);
  return (ops, x0, taps) => {
    const [, c, , h, w] = ops.shape(x0);
    const picked = pickAlong(ops, x0, 2, unique);
    const z = ops.reshape(ops.transpose(picked, [0, 2, 1, 3, 4]), [unique.length, c, h, w]);
    const decoded = decodeFrames(ops, m.vae, z);
    if (taps) taps.frames = decoded;
    const frames = identity ? decoded : pickAlong(ops, decoded, 0, Array.from(position));
    const input = sampledFramesToImageBindInput(ops, frames, geo.clips);
    if (taps) taps.vision_input = input;
    return imagebind.embed(ops, "vision", input);
  };
}

export function videoEmbedPath(
  ops: TfjsOps,
  m: AnimateDiffModels,
  imagebind: ImageBindModel,
  geo: VideoGeometry,
): EmbedPath {
  return onTfjs(ops, videoEmbed(m, imagebind, geo));
}

/**
 * x[..., idx, ...] along `axis` as slices + concat (runs of consecutive indices in one slice): unlike gather,
 * whose gradient needs UnsortedSegmentSum (missing in tfjs-backend-wasm), these differentiate on every backend.
 */
export function pickAlong<T>(ops: Ops<T>, x: T, axis: number, idx: readonly number[]): T {
  const parts: T[] = [];
  for (let k = 0; k < idx.length; ) {
    let e = k + 1;
    while (e < idx.length && idx[e] === idx[e - 1] + 1) e++;
    parts.push(ops.slice(x, axis, idx[k], idx[e - 1] + 1));
    k = e;
  }
  return parts.length === 1 ? parts[0] : ops.concat(parts, axis);
}

/** Frames of a preview strip: up to `n` evenly spaced frame indices. */
export function previewFrameIndices(frames: number, n = 4): number[] {
  const k = Math.min(n, frames);
  return Array.from({ length: k }, (_, i) => (k === 1 ? 0 : Math.round((i * (frames - 1)) / (k - 1))));
}

/** Box-downscale RGB frames [n, H, W, 3] so the longer side is at most `maxSide` pixels. */
export function shrinkFrames(
  rgb: Uint8Array,
  n: number,
  H: number,
  W: number,
  maxSide: number,
): { data: Uint8Array; height: number; width: number } {
  const s = Math.max(1, Math.ceil(Math.max(H, W) / maxSide));
  const h = Math.floor(H / s);
  const w = Math.floor(W / s);
  if (s === 1) return { data: rgb, height: H, width: W };
  const out = new Uint8Array(n * h * w * 3);
  for (let k = 0; k < n; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let dy = 0; dy < s; dy++)
            for (let dx = 0; dx < s; dx++) acc += rgb[((k * H + y * s + dy) * W + x * s + dx) * 3 + c];
          out[((k * h + y) * w + x) * 3 + c] = Math.round(acc / (s * s));
        }
  return { data: out, height: h, width: w };
}
