/**
 * What each task keeps resident and runs in each phase — the declaration STYLE.md 9 asks pipelines for
 * (component order, what is loaded when, which passes need gradients). It moves next to the pipelines when they
 * export theirs. Roles name what a component does in a task; the planner maps them to the pack's components.
 */

import { type CallId, type CallShapes, ORT_GUIDANCE } from "./planner-calls.js";
import type { ComponentKind } from "./schema.js";

export const TASKS = ["v2a", "i2a", "a2v", "joint"] as const;
export type Task = (typeof TASKS)[number];
export type Executor = "onnx" | "tfjs";
export type OnnxWeights = "fp32" | "fp16" | "q4";
export type ImageBindModality = "vision" | "text" | "audio";

export interface TaskOptions {
  task: Task;
  /** Audio length in seconds (v2a, i2a, joint). Default 10. */
  seconds?: number;
  /** Video frames (a2v, joint). Default 16. */
  frames?: number;
  /** Video resolution (a2v, joint). Default 512 × 512. */
  height?: number;
  width?: number;
  /** The aligner (ImageBind guidance). Default true. */
  guidance?: boolean;
  /**
   * Where the aligner's latent guidance runs: "tfjs" (checkpointed tape) or "onnx" (one ORT graph with its
   * emitted backward, fp32 weights; ORT keeps every forward activation the backward reads). Default "tfjs".
   * With prompt tuning everything differentiates on tfjs (the UNet backward), so the whole path is planned there.
   */
  guidanceExecutor?: "tfjs" | "onnx";
  /** Guided prompt tuning (gradients through the UNet on tfjs). Default false. */
  promptTuning?: boolean;
  /** Classifier-free guidance (UNet batch 2). Default true. */
  cfg?: boolean;
  /** ImageBind clips for the condition and the guidance. Default 3. */
  clips?: number;
  /** Video frames decoded per guided step for ImageBind (a2v, joint). Default 4. */
  decodeFrames?: number;
  /** Frames per VAE call in the final video decode. Default 4. */
  decodeChunk?: number;
  /** How ONNX Runtime holds forward-only weights. Default: fp16, or q4 when the pack stores q4 blocks. */
  onnxWeights?: OnnxWeights;
}

export type Role =
  | "audio.unet"
  | "audio.vae"
  | "audio.vocoder"
  | "audio.text"
  | "video.unet"
  | "video.adapter"
  | "video.vae"
  | "video.text"
  | "imagebind";

export const ROLE_KIND: Readonly<Record<Role, ComponentKind>> = Object.freeze({
  "audio.unet": "audioldm.unet",
  "audio.vae": "audioldm.vae",
  "audio.vocoder": "audioldm.vocoder",
  "audio.text": "audioldm.text_encoder",
  "video.unet": "sd.unet",
  "video.adapter": "animatediff.motion_adapter",
  "video.vae": "sd.vae",
  "video.text": "sd.text_encoder",
  imagebind: "imagebind",
});

const AUDIO: readonly Role[] = ["audio.unet", "audio.vae", "audio.vocoder", "audio.text"];
const VIDEO: readonly Role[] = ["video.unet", "video.adapter", "video.vae", "video.text"];

/** Which roles each task needs (checked before anything is estimated). */
export const TASK_ROLES: Readonly<Record<Task, readonly Role[]>> = Object.freeze({
  v2a: [...AUDIO, "imagebind"],
  i2a: [...AUDIO, "imagebind"],
  a2v: [...VIDEO, "imagebind"],
  joint: [...AUDIO, ...VIDEO, "imagebind"],
});

export interface Work {
  call: CallId;
  roles: Role[];
  shapes: CallShapes;
  executor: Executor;
  /** Part of a backward pass (tfjs keeps the intermediates). */
  grad: boolean;
}

export interface Resident {
  role: Role;
  executor: Executor;
  /** ImageBind: only these modalities' weights are used (the tfjs executor uploads params on first use). */
  modalities?: readonly ImageBindModality[];
  /** ONNX storage when it is not the task's (the guidance graph: fp16 with an fp16 forward, else fp32). */
  format?: OnnxWeights;
  /** How many copies of these weights the holder keeps (the ORT guidance graph: ORT_GUIDANCE.weightCopies). */
  copies?: number;
}

export interface PhaseDecl {
  name: "encode" | "denoise" | "decode";
  resident: Resident[];
  /** Alternatives run one after the other; each is a chain whose footprints add up (one tape, or one session). */
  alternatives: [string, Work[]][];
}

export interface Geometry {
  /** AudioLDM latent [C, h, w] and mel frames, or null without an audio model. */
  audio: { latent: readonly [number, number, number]; melFrames: number } | null;
  video: { latent: readonly [number, number, number] };
}

const work = (call: CallId, roles: Role[], shapes: CallShapes, executor: Executor, grad = false): Work => ({
  call,
  roles,
  shapes,
  executor,
  grad,
});

export function declarePhases(o: Required<TaskOptions>, g: Geometry): PhaseDecl[] {
  const batch = o.cfg ? 2 : 1;
  const audio = o.task !== "a2v";
  const video = o.task === "a2v" || o.task === "joint";
  const encodeModalities: ImageBindModality[] =
    o.task === "a2v" ? ["audio", "text"] : o.task === "joint" ? ["text"] : ["vision", "text"];
  const guideModalities: ImageBindModality[] = [
    ...(audio ? ["audio" as const] : []),
    ...(video ? ["vision" as const] : []),
  ];
  const aligned = o.guidance || o.promptTuning; // ImageBind is needed only by the aligner
  const encode: PhaseDecl = {
    name: "encode",
    // condition encoders run forward-only on ORT (DESIGN rule 1); the guidance copy is tfjs, in `denoise`
    resident: aligned ? [{ role: "imagebind", executor: "onnx", modalities: encodeModalities }] : [],
    alternatives: [],
  };
  const denoise: PhaseDecl = { name: "denoise", resident: [], alternatives: [] };
  const decode: PhaseDecl = { name: "decode", resident: [], alternatives: [] };
  const chain: Work[] = [];
  const res = (role: Role, executor: Executor): Resident => ({ role, executor });
  // as OnnxGuidance stores them: fp16 with an fp16 forward, else fp32, held ORT_GUIDANCE.weightCopies times
  const guideHeld = {
    format: (o.onnxWeights === "fp16" ? "fp16" : "fp32") as OnnxWeights,
    copies: ORT_GUIDANCE.weightCopies,
  };
  // as the pipelines run it: prompt tuning differentiates through the UNets on tfjs, so then everything does;
  // joint puts both embed paths in one ORT graph (aligner/onnx_guidance.ts OnnxJointGuidance)
  const ortGuide = o.guidanceExecutor === "onnx" && !o.promptTuning;
  const ortWorks: Work[] = [];
  if (audio) {
    const lat = g.audio!.latent;
    encode.resident.push(res("audio.text", "onnx"));
    encode.alternatives.push([
      "CLAP text encoder",
      [work("clap", ["audio.text"], { batch, tokens: 512 }, "onnx")],
    ]);
    denoise.resident.push(res("audio.unet", "onnx"));
    denoise.alternatives.push([
      "AudioLDM UNet step",
      [work("unet", ["audio.unet"], { batch, latent: lat }, "onnx")],
    ]);
    if (o.promptTuning) {
      denoise.resident.push(res("audio.unet", "tfjs"));
      chain.push(work("unet", ["audio.unet"], { batch: 1, latent: lat }, "tfjs", true));
    }
    if (o.guidance && ortGuide) {
      denoise.resident.push(
        { ...res("audio.vae", "onnx"), ...guideHeld },
        { ...res("audio.vocoder", "onnx"), ...guideHeld },
        { role: "imagebind", executor: "onnx", modalities: ["audio"], ...guideHeld },
      );
      ortWorks.push(
        work(
          "guidance-audio",
          ["audio.vae", "audio.vocoder", "imagebind"],
          { batch: 1, latent: lat, clips: o.clips },
          "onnx",
        ),
      );
    } else if (o.guidance) {
      denoise.resident.push(res("audio.vae", "tfjs"), res("audio.vocoder", "tfjs"));
      chain.push(
        work("vae-decode", ["audio.vae"], { batch: 1, latent: lat }, "tfjs", true),
        work(
          "vocoder",
          ["audio.vocoder"],
          { batch: 1, latent: [lat[0], g.audio!.melFrames, lat[2]] },
          "tfjs",
          true,
        ),
        work("imagebind-audio", ["imagebind"], { batch: 1, clips: o.clips }, "tfjs", true),
      );
    }
    decode.resident.push(res("audio.vae", "onnx"), res("audio.vocoder", "onnx"));
    decode.alternatives.push([
      "VAE decode + vocoder",
      [work("audio-decode", ["audio.vae", "audio.vocoder"], { batch: 1, latent: lat }, "onnx")],
    ]);
  }
  if (aligned && (o.task === "v2a" || o.task === "i2a"))
    encode.alternatives.push([
      "ImageBind vision",
      [work("imagebind-vision", ["imagebind"], { batch: 1, clips: o.task === "i2a" ? 1 : o.clips }, "onnx")],
    ]);
  if (video) {
    const lat = g.video.latent;
    const f = o.frames;
    const motion: Role[] = ["video.unet", "video.adapter"];
    encode.resident.push(res("video.text", "onnx"));
    encode.alternatives.push([
      "CLIP text encoder",
      [work("clip", ["video.text"], { batch, tokens: 77 }, "onnx")],
    ]);
    if (aligned && o.task === "a2v")
      encode.alternatives.push([
        "ImageBind audio",
        [work("imagebind-audio", ["imagebind"], { batch: 1, clips: o.clips }, "onnx")],
      ]);
    denoise.resident.push(res("video.unet", "onnx"), res("video.adapter", "onnx"));
    denoise.alternatives.push([
      "AnimateDiff UNet step",
      [work("unet-motion", motion, { batch, latent: lat, frames: f }, "onnx")],
    ]);
    if (o.promptTuning) {
      denoise.resident.push(res("video.unet", "tfjs"), res("video.adapter", "tfjs"));
      chain.push(work("unet-motion", motion, { batch: 1, latent: lat, frames: f }, "tfjs", true));
    }
    if (o.guidance && ortGuide) {
      const n = Math.min(o.decodeFrames, f);
      denoise.resident.push(
        { ...res("video.vae", "onnx"), ...guideHeld },
        { role: "imagebind", executor: "onnx", modalities: ["vision"], ...guideHeld },
      );
      ortWorks.push(
        work(
          "guidance-video",
          ["video.vae", "imagebind"],
          { batch: n, latent: lat, frames: f, clips: Math.max(1, n >> 1) },
          "onnx",
        ),
      );
    } else if (o.guidance) {
      const n = Math.min(o.decodeFrames, f);
      denoise.resident.push(res("video.vae", "tfjs"));
      chain.push(
        work("vae-decode", ["video.vae"], { batch: n, latent: lat }, "tfjs", true),
        work("imagebind-vision", ["imagebind"], { batch: 1, clips: Math.max(1, n >> 1) }, "tfjs", true),
      );
    }
    decode.resident.push(res("video.vae", "onnx"));
    decode.alternatives.push([
      "VAE decode (per chunk of frames)",
      [work("vae-decode", ["video.vae"], { batch: Math.min(o.decodeChunk, f), latent: lat }, "onnx")],
    ]);
  }
  // one graph: both paths' activations (joint) add up, as in a chain of ORT work
  if (ortWorks.length) denoise.alternatives.push(["guidance forward + backward (ONNX Runtime)", ortWorks]);
  if (chain.length) {
    denoise.resident.push({ role: "imagebind", executor: "tfjs", modalities: guideModalities });
    denoise.alternatives.push([
      o.promptTuning ? "guidance + prompt tuning backward" : "guidance backward",
      chain,
    ]);
  }
  return [encode, denoise, decode];
}
