/**
 * Everything the video tasks (A2V, the video half of joint generation) run, loaded once per session: AnimateDiff
 * (SD 1.5 UNet + motion adapter, SD VAE, CLIP text encoder) and ImageBind, with forward runners (ONNX Runtime or
 * tfjs) for the forward-only passes and the tfjs executor for the gradient path (DESIGN.md rule 1), as
 * audio_engine.ts does for AudioLDM.
 *
 * Forward: the motion UNet's CFG steps, CLIP text, the chunked final decode, previews, the ImageBind condition
 * encoders and output scoring. tfjs (gradients): VAE decode of the sampled frames → ImageBind vision (the aligner)
 * and, with prompt tuning, the motion UNet's conditional branch (SPEC §4.3).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { EmbedFn } from "../aligner/hook.js";
import type { JointModality, TriangleWeights } from "../aligner/joint.js";
import type { GuidanceGraphs, OnnxGuidance, OnnxJointGuidance } from "../aligner/onnx_guidance.js";
import type { CLIPTextModel } from "../models/clip/model.js";
import { type SDTokenizer, tokenizePromptsSD } from "../models/clip/prompt.js";
import type { ImageBindModel } from "../models/imagebind/model.js";
import type { HostTensor } from "../ops/onnx/session.js";
import { type ForwardRunner, forwardRunner } from "../ops/runner.js";
import type { TfjsOps } from "../ops/tfjs.js";
import type { ClipTokenizer } from "../preprocess/tokenizers/clip.js";
import { DDIMScheduler, type DDIMSchedulerConfig } from "../schedulers/ddim.js";
import {
  type AnimateDiffModels,
  decodeVideoChunked,
  frameDecodeForward,
  frameLatents,
  motionUnetForward,
  planarToRgb,
  previewFrameIndices,
  shrinkFrames,
  type VideoGeometry,
  videoEmbed,
} from "./animatediff.js";
import { type EngineExecutors, guidanceGraphs } from "./audio_engine.js";
import type { Preview } from "./events.js";
import { ImageBindEncoders } from "./imagebind_encoders.js";
import { SOUND_LABELS } from "./labels.js";

export interface VideoEngineParts {
  animatediff: AnimateDiffModels;
  textEncoder: CLIPTextModel;
  /** SD's HF CLIP tokenizer (vocab.json + merges.txt). */
  sdTokenizer: SDTokenizer;
  /** The pack's SD scheduler config (AnimateDiff: DDIM, linear 0.00085→0.012, steps_offset 1; SPEC §4.1). */
  scheduler: Partial<DDIMSchedulerConfig>;
  imagebind: ImageBindModel;
  /** ImageBind's BPE tokenizer. */
  clipTokenizer: ClipTokenizer;
  /** Vocabulary of the automatic prompt from the audio (default SOUND_LABELS). */
  labels?: readonly string[];
}

/** Longest side of a preview frame (the strip is for watching the run, not for judging quality). */
const PREVIEW_SIDE = 96;

export class VideoTaskEngine {
  readonly animatediff: AnimateDiffModels;
  readonly imagebind: ImageBindModel;
  readonly grad: TfjsOps;
  readonly unet: ForwardRunner;
  readonly encoders: ImageBindEncoders;
  private readonly parts: VideoEngineParts;
  private readonly clip: ForwardRunner;
  private readonly decoder: ForwardRunner;
  private readonly guidance: GuidanceGraphs;

  constructor(parts: VideoEngineParts, exec: EngineExecutors, encoders?: ImageBindEncoders) {
    this.parts = parts;
    this.animatediff = parts.animatediff;
    this.imagebind = parts.imagebind;
    this.grad = exec.grad;
    this.guidance = guidanceGraphs(exec);
    const f = exec.forward;
    this.encoders =
      encoders ??
      new ImageBindEncoders(parts.imagebind, parts.clipTokenizer, f, parts.labels ?? SOUND_LABELS);
    this.unet = forwardRunner("animatediff-unet", motionUnetForward(parts.animatediff), f);
    this.clip = forwardRunner(
      "clip-text",
      (ops, xs) => ({
        states: parts.textEncoder.forward(ops, { input_ids: xs.input_ids }).last_hidden_state,
      }),
      f,
    );
    this.decoder = forwardRunner("sd-vae-decode", frameDecodeForward(parts.animatediff), f);
  }

  scheduler(): DDIMScheduler {
    return new DDIMScheduler(this.parts.scheduler);
  }

  /**
   * CLIP text states [2, 77, D] = [CLIP(negative), CLIP(prompt)] (diffusers `encode_prompt`: padded to 77 with
   * EOS, no attention mask for SD 1.5; the negative prompt "" by default).
   */
  async encodePrompt(prompt: string, negative: string): Promise<HostTensor> {
    const batch = tokenizePromptsSD(this.parts.sdTokenizer, [negative, prompt]);
    return (await this.clip.run({ input_ids: { data: batch.input_ids, shape: batch.shape } })).states;
  }

  /** Final decode, `chunk` frames per VAE call → RGB frames [F, H, W, 3]. */
  decode(latent: Float32Array, shape: readonly number[], chunk: number) {
    return decodeVideoChunked(this.decoder, latent, shape, chunk);
  }

  /** x0 → a strip of up to 4 evenly spaced frames, at most 96 px on the long side ("frames" preview). */
  async previewFrames(x0: Float32Array, shape: readonly number[]): Promise<Preview> {
    const [, c, f, h, w] = shape;
    const idx = previewFrameIndices(f);
    const r = (
      await this.decoder.run({ latent: { data: frameLatents(x0, shape, idx), shape: [idx.length, c, h, w] } })
    ).frames;
    const [, , H, W] = r.shape;
    const rgb = planarToRgb(r.data as Float32Array, idx.length, H, W, new Uint8Array(idx.length * H * W * 3));
    const small = shrinkFrames(rgb, idx.length, H, W, PREVIEW_SIDE);
    return { kind: "frames", data: small.data, shape: [idx.length, small.height, small.width, 3] };
  }

  /** ε_c(z_t, t, y) on the tfjs executor for prompt tuning (differentiable in the CLIP states y [1, 77, D]). */
  unetEpsTfjs(ops: TfjsOps, z: tf.Tensor, t: number, y: tf.Tensor): tf.Tensor {
    return this.animatediff.unet.forward(ops, z, tf.tensor([t], [1]), { encoderHiddenStates: y });
  }

  /** The A2V guidance path on ONNX Runtime for a geometry, or null when guiding on tfjs. */
  onnxGuidance(geo: VideoGeometry): OnnxGuidance | null {
    const key = `video-${geo.clips}-${geo.sampledFrames.join(".")}`;
    return this.guidance.get(key, () => videoEmbed(this.animatediff, this.imagebind, geo));
  }

  /** The joint (triangle) guidance on ONNX Runtime for this geometry and weights, or null when on tfjs. */
  onnxJointGuidance(
    key: string,
    embeds: () => Readonly<Record<JointModality, EmbedFn>>,
    weights: TriangleWeights,
  ): OnnxJointGuidance | null {
    return this.guidance.getJoint(key, embeds, weights);
  }

  /** ORT sessions of the guidance graphs (the cancel/memory tests count them). */
  get guidanceSessions(): number {
    return this.guidance.sessionCount;
  }

  async dispose(): Promise<void> {
    await this.guidance.dispose();
    for (const r of [this.unet, this.clip, this.decoder]) await r.dispose();
    await this.encoders.dispose();
  }
}
