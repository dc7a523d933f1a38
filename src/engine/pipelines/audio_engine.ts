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
import type { ClapTextModelWithProjection } from "../models/clap/model.js";
import type { AudioLDMTokenizer } from "../models/clap/prompt.js";
import { tokenizePromptsAudioLDM } from "../models/clap/prompt.js";
import type { ImageBindModel } from "../models/imagebind/model.js";
import type { HostTensor } from "../ops/onnx/session.js";
import { type ExecutorChoice, type ForwardRunner, forwardRunner } from "../ops/runner.js";
import type { TfjsOps } from "../ops/tfjs.js";
import { audioToImageBindInput } from "../preprocess/audio/imagebind_audio.js";
import type { ClipTokenizer } from "../preprocess/tokenizers/clip.js";
import { imageToImageBindInput, type RgbImage } from "../preprocess/video/imagebind_image.js";
import { type VideoFrames, videoToImageBindInput } from "../preprocess/video/imagebind_video.js";
import { DDIMScheduler, type DDIMSchedulerConfig } from "../schedulers/ddim.js";
import { type AudioLDMModels, finalDecodeForward, unetForward } from "./audioldm.js";
import type { Preview } from "./events.js";
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
}

const LABEL_BATCH = 16;

export class AudioTaskEngine {
  readonly audioldm: AudioLDMModels;
  readonly imagebind: ImageBindModel;
  readonly grad: TfjsOps;
  readonly unet: ForwardRunner;
  private readonly parts: AudioEngineParts;
  private readonly clap: ForwardRunner;
  private readonly ibVision: ForwardRunner;
  private readonly ibText: ForwardRunner;
  /** One runner per clip count (the clip layout is part of the traced graph). */
  private readonly ibAudio = new Map<number, ForwardRunner>();
  private readonly forwardChoice: ExecutorChoice;
  private readonly decoder: ForwardRunner;
  private readonly melPreview: ForwardRunner;
  private labelEmbeddings: Promise<Float32Array> | null = null;

  constructor(parts: AudioEngineParts, exec: EngineExecutors) {
    this.parts = parts;
    this.audioldm = parts.audioldm;
    this.imagebind = parts.imagebind;
    this.grad = exec.grad;
    const f = exec.forward;
    const m = parts.audioldm;
    const ib = parts.imagebind;
    this.unet = forwardRunner("audioldm-unet", unetForward(m), f);
    this.clap = forwardRunner(
      "clap-text",
      (ops, xs) => ({
        emb: parts.textEncoder.forward(ops, { input_ids: xs.input_ids, attention_mask: xs.attention_mask })
          .text_embeds_normalized,
      }),
      f,
    );
    this.ibVision = forwardRunner(
      "imagebind-vision",
      (ops, xs) => ({ emb: ib.embed(ops, "vision", xs.x) }),
      f,
    );
    this.ibText = forwardRunner("imagebind-text", (ops, xs) => ({ emb: ib.embed(ops, "text", xs.ids) }), f);
    this.forwardChoice = f;
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
  async embedVideo(video: VideoFrames, clips: number): Promise<Float32Array> {
    const x = videoToImageBindInput(video, clips);
    return this.embed1(this.ibVision, { x: { data: x, shape: [1, clips, 3, 2, 224, 224] } });
  }

  async embedImage(image: RgbImage): Promise<Float32Array> {
    return this.embed1(this.ibVision, { x: { data: imageToImageBindInput(image), shape: [1, 3, 224, 224] } });
  }

  async embedText(text: string): Promise<Float32Array> {
    return this.embed1(this.ibText, {
      ids: { data: this.parts.clipTokenizer.encodeForImageBind(text), shape: [1, 77] },
    });
  }

  /** A 16 kHz waveform → ImageBind audio embedding with `clips` 1-s clips (SPEC §3.7). */
  async embedAudio(waveform: Float32Array, clips: number): Promise<Float32Array> {
    let r = this.ibAudio.get(clips);
    if (!r) {
      const ib = this.imagebind;
      r = forwardRunner(
        `imagebind-audio-${clips}`,
        (ops, xs) => ({ emb: ib.embed(ops, "audio", audioToImageBindInput(ops, xs.wav, clips)) }),
        this.forwardChoice,
      );
      this.ibAudio.set(clips, r);
    }
    return this.embed1(r, { wav: { data: waveform, shape: [1, waveform.length] } });
  }

  private async embed1(r: ForwardRunner, inputs: Record<string, HostTensor>): Promise<Float32Array> {
    return (await r.run(inputs)).emb.data as Float32Array;
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

  /** The automatic prompt: the two labels whose ImageBind text embeddings are closest to the condition. */
  async autoPrompt(
    condition: Float32Array,
    top = 2,
  ): Promise<{ prompt: string; candidates: { label: string; score: number }[] }> {
    const labels = this.parts.labels ?? SOUND_LABELS;
    this.labelEmbeddings ??= this.computeLabelEmbeddings(labels);
    const table = await this.labelEmbeddings;
    const d = condition.length;
    const cn = Math.hypot(...condition) || 1;
    const scored = labels.map((label, k) => {
      let dot = 0;
      let n = 0;
      for (let j = 0; j < d; j++) {
        dot += table[k * d + j] * condition[j];
        n += table[k * d + j] ** 2;
      }
      return { label, score: dot / (Math.sqrt(n) * cn || 1) };
    });
    scored.sort((a, b) => b.score - a.score);
    const candidates = scored.slice(0, Math.max(top, 5));
    return {
      prompt: candidates
        .slice(0, top)
        .map((c) => c.label)
        .join(", "),
      candidates,
    };
  }

  private async computeLabelEmbeddings(labels: readonly string[]): Promise<Float32Array> {
    const parts: Float32Array[] = [];
    for (let s = 0; s < labels.length; s += LABEL_BATCH) {
      const batch = labels.slice(s, s + LABEL_BATCH);
      // pad the last batch to a full one so one traced graph serves every batch
      while (batch.length < LABEL_BATCH) batch.push(batch[batch.length - 1]);
      const ids = new Int32Array(LABEL_BATCH * 77);
      for (let k = 0; k < LABEL_BATCH; k++)
        ids.set(this.parts.clipTokenizer.encodeForImageBind(batch[k]), k * 77);
      const emb = await this.embed1(this.ibText, { ids: { data: ids, shape: [LABEL_BATCH, 77] } });
      const d = emb.length / LABEL_BATCH;
      parts.push(emb.subarray(0, Math.min(LABEL_BATCH, labels.length - s) * d));
    }
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
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

  async dispose(): Promise<void> {
    for (const r of [
      this.unet,
      this.clap,
      this.ibVision,
      this.ibText,
      ...this.ibAudio.values(),
      this.decoder,
      this.melPreview,
    ])
      await r.dispose();
    this.ibAudio.clear();
  }
}
