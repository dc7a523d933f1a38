/**
 * Memory planning for the video tasks (A2V, joint): `planMemory` (planner.ts) with the video request's own
 * numbers and one more fallback. docs/memory.md explains the budget this serves (16 frames at 512² on 8 GB).
 *
 *  - the adapter's frame limit (`motion_max_seq_length`, 32 for mm_sd_v15_v2) is a model limit: refused up front;
 *  - the ImageBind geometry comes from the request: S = ceil(frames/fps) clips (SPEC §8 Q8) and the frames the
 *    guidance decodes = the distinct frames ImageBind samples (2 per clip), not a default;
 *  - fallbacks: planMemory's (ONNX weights q4, no prompt tuning, fewer frames down to MIN_FRAMES) and a lower
 *    resolution in steps of 64 px (the SD UNet needs latents divisible by 8) down to MIN_SIDE, aspect kept. The
 *    frame fallback is done here, not by planMemory, because the clips and guided frames depend on the count.
 */
import { BadInputError } from "../errors.js";
import { imagebindFrameIndices } from "../preprocess/video/imagebind_video.js";
import {
  type MemoryEstimate,
  type MemoryPlanner,
  MIN_FRAMES,
  type PlanLimits,
  type PlanResult,
  planMemory,
} from "./planner.js";
import type { OnnxWeights, TaskOptions } from "./planner-phases.js";

export interface VideoJobRequest {
  task: "a2v" | "joint";
  frames: number;
  height: number;
  width: number;
  fps: number;
  guidance: boolean;
  promptTuning: boolean;
  onnxWeights?: OnnxWeights;
  /** Where the latent guidance runs (TaskOptions.guidanceExecutor). */
  guidanceExecutor?: "tfjs" | "onnx";
  /** Frames per final VAE call. */
  decodeChunk?: number;
  /** CFG on (batch 2). */
  cfg?: boolean;
}

export interface VideoJobPlan extends PlanResult {
  /** The request after the fallbacks (what to run). */
  request: VideoJobRequest;
}

/** Smallest side the resolution fallback goes down to, and its step. */
export const MIN_SIDE = 256;
export const SIDE_STEP = 64;

/** The motion adapter's frame limit in the planner's packs (null when no pack has an adapter). */
export function adapterMaxFrames(planner: MemoryPlanner): number | null {
  for (const m of planner.manifests)
    for (const model of Object.values(m.models))
      for (const c of Object.values(model.components))
        if (c.kind === "animatediff.motion_adapter")
          return Number((c.config as { motion_max_seq_length?: number }).motion_max_seq_length ?? 32);
  return null;
}

/** The planner's options for a video request: clips and guided-decode frames from frames/fps. */
export function videoTaskOptions(r: VideoJobRequest): TaskOptions {
  const clips = Math.max(1, Math.ceil(r.frames / r.fps - 1e-9));
  return {
    task: r.task,
    seconds: clips, // joint: audio length = ceil(frames/fps) (SPEC §8 Q7)
    frames: r.frames,
    height: r.height,
    width: r.width,
    guidance: r.guidance,
    promptTuning: r.promptTuning,
    cfg: r.cfg ?? true,
    clips,
    decodeFrames: new Set(imagebindFrameIndices(r.frames, r.fps, clips)).size,
    decodeChunk: r.decodeChunk ?? 4,
    ...(r.onnxWeights ? { onnxWeights: r.onnxWeights } : {}),
    ...(r.guidanceExecutor ? { guidanceExecutor: r.guidanceExecutor } : {}),
  };
}

/** Sides to try after `h×w`: steps of 64 px on the longer side, aspect kept, multiples of 64, ≥ MIN_SIDE. */
export function smallerSizes(h: number, w: number): [number, number][] {
  const out: [number, number][] = [];
  const long = Math.max(h, w);
  for (let s = Math.floor((long - 1) / SIDE_STEP) * SIDE_STEP; s >= MIN_SIDE; s -= SIDE_STEP) {
    const f = s / long;
    const hh = Math.max(SIDE_STEP, Math.round((h * f) / SIDE_STEP) * SIDE_STEP);
    const ww = Math.max(SIDE_STEP, Math.round((w * f) / SIDE_STEP) * SIDE_STEP);
    if (!out.some(([a, b]) => a === hh && b === ww) && (hh < h || ww < w)) out.push([hh, ww]);
  }
  return out;
}

/**
 * Plan a video job: accept it as asked, or apply fallbacks until it fits — ONNX weights q4, prompt tuning off,
 * then the largest size (asked, then 64-px steps down) at which some frame count fits, with the most frames
 * (steps of 4, down to MIN_FRAMES; clips and guided frames recomputed for each count) — or refuse (`ok: false`)
 * with planMemory's message for the smallest configuration. Throws BadInputError for requests no memory can
 * make valid (more frames than the motion adapter takes).
 */
export function planVideoJob(planner: MemoryPlanner, r: VideoJobRequest, limits: PlanLimits): VideoJobPlan {
  const max = adapterMaxFrames(planner);
  if (max !== null && r.frames > max)
    throw new BadInputError(
      `${r.frames} frames exceed the motion adapter's maximum of ${max} (motion_max_seq_length): ask for at most ${max}.`,
    );
  const fits = (e: MemoryEstimate) =>
    e.peakBytes <= limits.budgetBytes && e.largestBufferBytes <= limits.maxBufferSize;
  const accept = (req: VideoJobRequest, estimate: MemoryEstimate, fallbacks: string[]): VideoJobPlan => ({
    ok: true,
    estimate,
    fallbacks,
    message: null,
    request: { ...req, onnxWeights: estimate.options.onnxWeights },
  });
  let req: VideoJobRequest = { ...r };
  let e = planner.estimate(videoTaskOptions(req));
  const fallbacks: string[] = [];
  if (fits(e)) return accept(req, e, fallbacks);
  if (e.options.onnxWeights !== "q4") {
    fallbacks.push(`UNet and text-encoder weights held as 4-bit (q4) instead of ${e.options.onnxWeights}`);
    req = { ...req, onnxWeights: "q4" };
    e = planner.estimate(videoTaskOptions(req));
    if (fits(e)) return accept(req, e, fallbacks);
  }
  if (req.promptTuning) {
    fallbacks.push("prompt tuning turned off");
    req = { ...req, promptTuning: false };
    e = planner.estimate(videoTaskOptions(req));
    if (fits(e)) return accept(req, e, fallbacks);
  }
  const counts: number[] = [];
  const lo = Math.min(MIN_FRAMES, r.frames);
  for (let f = r.frames; f > lo; f -= 4) counts.push(f);
  counts.push(lo);
  const sizes: [number, number][] = [[r.height, r.width], ...smallerSizes(r.height, r.width)];
  for (const [height, width] of sizes)
    for (const frames of counts) {
      const cand = { ...req, frames, height, width };
      const ce = planner.estimate(videoTaskOptions(cand));
      if (!fits(ce)) continue;
      const extra = [
        ...(frames !== r.frames ? [`${frames} frames instead of ${r.frames}`] : []),
        ...(height !== r.height || width !== r.width
          ? [`${width}×${height} instead of ${r.width}×${r.height}`]
          : []),
      ];
      return accept(cand, ce, [...fallbacks, ...extra]);
    }
  const [h, w] = sizes[sizes.length - 1];
  const smallest = { ...req, frames: counts[counts.length - 1], height: h, width: w };
  const last = planMemory(planner, videoTaskOptions(smallest), limits);
  const tried = `${fallbacks.length ? `${fallbacks.join(", ")}, ` : ""}${smallest.frames} frames at ${w}×${h}`;
  return {
    ...last,
    ok: false,
    fallbacks,
    message: `Even with every fallback (${tried}): ${last.message}`,
    request: r,
  };
}
