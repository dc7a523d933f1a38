/**
 * Everything the audio tasks run, loaded once per session: the models, their forward runners (ONNX Runtime
 * or tfjs, one choice for the forward-only components) and the tfjs executor of the gradient path
 * (DESIGN.md rule 1). Runners trace and build a session the first time a shape is seen and reuse it after.
 *
 * Executor split (DESIGN.md "Performance principles"): UNet steps, CLAP, the ImageBind condition encoders,
 * the final decode and the output scoring are forward-only → `forward`; the guidance path (VAE decoder →
 * vocoder → fbank → ImageBind audio) and prompt tuning (UNet) need gradients → `grad` (tfjs).
 */
import * as tf from "@tensorflow/tfjs-core";
import { GuidanceGraphs, type OnnxGuidance } from "../aligner/onnx_guidance.js";
import type { ClapTextModelWithProjection } from "../models/clap/model.js";
import type { AudioLDMTokenizer } from "../models/clap/prompt.js";
import { tokenizePromptsAudioLDM } from "../models/clap/prompt.js";
import type { ImageBindModel } from "../models/imagebind/model.js";
import type { HostTensor } from "../ops/onnx/session.js";
import { type ExecutorChoice, type ForwardRunner, forwardRunner } from "../ops/runner.js";
import type { TfjsOps } from "../ops/tfjs.js";
import type { ClipTokenizer } from "../preprocess/tokenizers/clip.js";
import type { RgbImage } from "../preprocess/video/imagebind_image.js";
import type { VideoFrames } from "../preprocess/video/imagebind_video.js";
import { DDIMScheduler, type DDIMSchedulerConfig } from "../schedulers/ddim.js";
import { audioEmbed } from "./audio_embed.js";
import { type AudioLDMModels, finalDecodeForward, unetForward } from "./audioldm.js";
import type { Preview } from "./events.js";
import { ImageBindEncoders } from "./imagebind_encoders.js";
import { SOUND_LABELS } from "./labels.js";

export interface AudioEngineParts {
  audioldm: AudioLDMModels;
  textEncoder: ClapTextModelWithProjection;
  clapTokenizer: AudioLDMTokenizer;
  scheduler: Partial<DDIMSchedulerConfig>;
  imagebind: ImageBindModel;
  clipTokenizer: ClipTokenizer;
  /** Vocabulary of the automatic prompt (default SOUND_LABELS). */
  labels?: readonly string[];
}

export interface EngineExecutors {
  forward: ExecutorChoice;
  grad: TfjsOps;
  /**
   * Where the aligner's latent-guidance loss and gradient run: "tfjs" (eager autodiff on `grad`) or "onnx" (the
   * embed path traced with its emitted backward, on the forward runtime; needs `forward.kind` "onnx"). Guided
   * prompt tuning differentiates through the UNet and always runs on tfjs. Default "tfjs".
   */
  guidance?: "tfjs" | "onnx";
}

/** The engine's ONNX guidance graphs when `exec` asks for them (null choice: guide on tfjs). */
export function guidanceGraphs(exec: EngineExecutors): GuidanceGraphs {
  if (exec.guidance !== "onnx") return new GuidanceGraphs(null);
  if (exec.forward.kind !== "onnx")
    throw new RangeError('guidance "onnx" needs an ONNX forward executor (forward.kind "onnx")');
  return new GuidanceGraphs(exec.forward);
}

export class AudioTaskEngine {
  readonly audioldm: AudioLDMModels;
  readonly imagebind: ImageBindModel;
  readonly grad: TfjsOps;
  readonly unet: ForwardRunner;
  /** ImageBind condition encoders (shared with a video engine in joint sessions). */
  readonly encoders: ImageBindEncoders;
  private readonly parts: AudioEngineParts;
  private readonly clap: ForwardRunner;
  private readonly decoder: ForwardRunner;
  private readonly melPreview: ForwardRunner;
  private readonly guidance: GuidanceGraphs;

  constructor(parts: AudioEngineParts, exec: EngineExecutors, encoders?: ImageBindEncoders) {
    this.parts = parts;
    this.audioldm = parts.audioldm;
    this.imagebind = parts.imagebind;
    this.grad = exec.grad;
    this.guidance = guidanceGraphs(exec);
    const f = exec.forward;
    const m = parts.audioldm;
    this.encoders =
      encoders ??
      new ImageBindEncoders(parts.imagebind, parts.clipTokenizer, f, parts.labels ?? SOUND_LABELS);
    this.unet = forwardRunner("audioldm-unet", unetForward(m), f);
    this.clap = forwardRunner(
      "clap-text",
      (ops, xs) => ({
        emb: parts.textEncoder.forward(ops, { input_ids: xs.input_ids, attention_mask: xs.attention_mask })
          .text_embeds_normalized,
      }),
      f,
    );
    this.decoder = forwardRunner("audioldm-decode", finalDecodeForward(m), f);
    this.melPreview = forwardRunner(
      "audioldm-mel-preview",
      (ops, xs) => ({ mel: m.vae.decode(ops, ops.mul(xs.latent, 1 / m.vae.config.scaling_factor)) }),
      f,
    );
  }

  scheduler(): DDIMScheduler {
    return new DDIMScheduler(this.parts.scheduler);
  }

  /** Condition video → ImageBind vision embedding [D] (mean of S clip embeddings, SPEC §3.6). */
  embedVideo(video: VideoFrames, clips: number): Promise<Float32Array> {
    return this.encoders.embedVideo(video, clips);
  }

  embedImage(image: RgbImage): Promise<Float32Array> {
    return this.encoders.embedImage(image);
  }

  embedText(text: string): Promise<Float32Array> {
    return this.encoders.embedText(text);
  }

  /** A 16 kHz waveform → ImageBind audio embedding with `clips` 1-s clips (SPEC §3.7). */
  embedAudio(waveform: Float32Array, clips: number): Promise<Float32Array> {
    return this.encoders.embedAudio(waveform, clips);
  }

  /** The automatic prompt: the labels whose ImageBind text embeddings are closest to the condition. */
  autoPrompt(
    condition: Float32Array,
    top = 2,
  ): Promise<{ prompt: string; candidates: { label: string; score: number }[] }> {
    return this.encoders.autoPrompt(condition, top);
  }

  /** CLAP embeddings [2, D] = [normalize(CLAP(negative)), normalize(CLAP(prompt))] (diffusers `_encode_prompt`). */
  async encodePrompt(prompt: string, negative: string): Promise<HostTensor> {
    const tok = this.parts.clapTokenizer;
    const cond = tokenizePromptsAudioLDM(tok, prompt);
    const c = (
      await this.clap.run({
        input_ids: { data: cond.input_ids, shape: cond.shape },
        attention_mask: { data: cond.attention_mask, shape: cond.shape },
      })
    ).emb;
    // the negative prompt is tokenized with max_length = prompt_embeds.shape[1] (diffusers AudioLDM quirk)
    const d = c.shape[1];
    const unc = tokenizePromptsAudioLDM(tok, negative, { maxLength: Math.min(d, tok.modelMaxLength) });
    const u = (
      await this.clap.run({
        input_ids: { data: unc.input_ids, shape: unc.shape },
        attention_mask: { data: unc.attention_mask, shape: unc.shape },
      })
    ).emb;
    const both = new Float32Array(2 * d);
    both.set(u.data as Float32Array);
    both.set(c.data as Float32Array, d);
    return { data: both, shape: [2, d] };
  }

  /** Final decode: latent → full vocoder waveform (not cut). */
  async decode(latent: Float32Array, shape: readonly number[]): Promise<Float32Array> {
    return (await this.decoder.run({ latent: { data: latent, shape } })).waveform.data as Float32Array;
  }

  /** x0 → log-mel image [frames, bins] for the live preview. */
  async previewMel(x0: Float32Array, shape: readonly number[]): Promise<Preview> {
    const mel = (await this.melPreview.run({ latent: { data: x0, shape } })).mel;
    const [, , h, w] = mel.shape;
    return { kind: "mel", data: Float32Array.from(mel.data as Float32Array), shape: [h, w] };
  }

  /** ε_c(z_t, t, y) on the tfjs executor for prompt tuning (differentiable in y). */
  unetEpsTfjs(ops: TfjsOps, z: tf.Tensor, t: number, y: tf.Tensor): tf.Tensor {
    return this.audioldm.unet.forward(ops, z, tf.tensor([t], [1]), { classLabels: y });
  }

  /** The V2A/I2A guidance path on ONNX Runtime for `clips` 1-s clips, or null when guiding on tfjs. */
  onnxGuidance(clips: number): OnnxGuidance | null {
    return this.guidance.get(`audio-${clips}`, () => audioEmbed(this.audioldm, this.imagebind, clips));
  }

  /** ORT sessions of the guidance graphs (the cancel/memory tests count them). */
  get guidanceSessions(): number {
    return this.guidance.sessionCount;
  }

  async dispose(): Promise<void> {
    await this.guidance.dispose();
    for (const r of [this.unet, this.clap, this.decoder, this.melPreview]) await r.dispose();
    await this.encoders.dispose();
  }
}
