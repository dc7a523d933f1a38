/**
 * The component calls the memory planner traces (trace.ts), with the shapes a task gives them. Each mirrors how
 * the pipelines call the model (pipelines/audioldm.ts, the A2V/joint loops): AudioLDM UNet with CLAP class
 * labels, SD/AnimateDiff UNet with CLIP states, VAE decode, vocoder, text encoders, ImageBind per modality.
 * Module trees are built from the manifest's configs without weights, so tracing a full-size model is cheap.
 */

import type { EmbedFn } from "../aligner/hook.js";
import { bindLoss } from "../aligner/losses.js";
import type { AutoencoderKL } from "../models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "../models/diffusers/unet_2d_condition.js";
import { UNetMotionModel } from "../models/diffusers/unet_motion_model.js";
import type { SpeechT5HifiGan } from "../models/hifigan/model.js";
import type { ImageBindModel } from "../models/imagebind/model.js";
import { componentClass } from "../models/registry.js";
import type { OnnxEmitter, Sym } from "../ops/onnx/emitter.js";
import { OnnxGradTracer } from "../ops/onnx/grad.js";
import { type AnimateDiffModels, type VideoGeometry, videoEmbed } from "../pipelines/animatediff.js";
import { audioEmbed } from "../pipelines/audio_embed.js";
import type { AudioLDMModels } from "../pipelines/audioldm.js";
import type { ComponentManifest } from "./schema.js";

export type CallId =
  | "unet"
  | "unet-motion"
  | "vae-decode"
  | "vocoder"
  | "audio-decode"
  | "clap"
  | "clip"
  | "imagebind-vision"
  | "imagebind-audio"
  | "imagebind-text"
  /** The aligner's whole graph on ONNX Runtime: embed path forward + its emitted backward (aligner/onnx_guidance.ts). */
  | "guidance-audio"
  | "guidance-video";

export interface CallShapes {
  batch: number;
  /** AudioLDM latent [C, h, w] or SD latent [C, h, w] (per frame). */
  latent?: readonly [number, number, number];
  frames?: number;
  /** Token sequence length of the text encoders. */
  tokens?: number;
  /** ImageBind clips (vision: [S, 3, 2, 224, 224] per batch item; audio: [S, 1, 128, 204]). */
  clips?: number;
}

type Build = (c: ComponentManifest) => object;
const build: Build = (c) => componentClass(c.kind).build(c.config, "memory planner");

/** Modules are built once per component manifest (weights are never read). */
export class ModuleCache {
  private readonly modules = new Map<ComponentManifest, object>();
  get<M extends object>(c: ComponentManifest): M {
    let m = this.modules.get(c);
    if (!m) {
      m = build(c);
      this.modules.set(c, m);
    }
    return m as M;
  }
}

/** The traced body of one call: `components` are the manifest entries it needs, in the call's order. */
export function callBody(
  call: CallId,
  components: readonly ComponentManifest[],
  shapes: CallShapes,
  modules: ModuleCache,
): (ops: OnnxEmitter) => Sym | readonly Sym[] {
  const b = shapes.batch;
  const [c, h, w] = shapes.latent ?? [4, 8, 8];
  const tokens = shapes.tokens ?? 77;
  const clips = shapes.clips ?? 1;
  switch (call) {
    case "unet": {
      const unet = modules.get<UNet2DConditionModel>(components[0]);
      const cfg = unet.config;
      return (ops) => {
        const sample = ops.input("sample", [b, c, h, w]);
        const t = ops.input("timestep", [1], "int32");
        if (cfg.class_embed_type) {
          const labels = ops.input("class_labels", [b, cfg.projection_class_embeddings_input_dim as number]);
          return unet.forward(ops, sample, t, { classLabels: labels });
        }
        const d = Array.isArray(cfg.cross_attention_dim)
          ? cfg.cross_attention_dim[0]
          : cfg.cross_attention_dim;
        return unet.forward(ops, sample, t, {
          encoderHiddenStates: ops.input("states", [b, tokens, d as number]),
        });
      };
    }
    case "unet-motion": {
      // AnimateDiff = SD UNet ∪ motion adapter, as the pipeline assembles it
      const model = new UNetMotionModel(components[0].config, components[1].config);
      const d = model.config.cross_attention_dim;
      return (ops) =>
        model.forward(
          ops,
          ops.input("sample", [b, c, shapes.frames ?? 16, h, w]),
          ops.input("t", [1], "int32"),
          {
            encoderHiddenStates: ops.input("states", [b, tokens, (Array.isArray(d) ? d[0] : d) as number]),
          },
        );
    }
    case "vae-decode": {
      const vae = modules.get<AutoencoderKL>(components[0]);
      return (ops) => vae.decode(ops, ops.input("z", [b, vae.config.latent_channels, h, w]));
    }
    case "vocoder": {
      const voc = modules.get<SpeechT5HifiGan>(components[0]);
      return (ops) => voc.forward(ops, ops.input("mel", [b, h, voc.config.model_in_dim]));
    }
    case "audio-decode": {
      // pipelines/audioldm.ts decodeToWaveform: VAE decode → [B, T, mel] → vocoder
      const vae = modules.get<AutoencoderKL>(components[0]);
      const voc = modules.get<SpeechT5HifiGan>(components[1]);
      return (ops) => {
        const mel = vae.decode(ops, ops.input("z", [b, vae.config.latent_channels, h, w]));
        const [n, , t, m] = ops.shape(mel);
        return voc.forward(ops, ops.reshape(mel, [n, t, m]));
      };
    }
    case "clap":
    case "clip": {
      const enc = modules.get<{
        forward(
          ops: OnnxEmitter,
          inputs: { input_ids: Sym; attention_mask?: Sym },
        ): { last_hidden_state: Sym };
      }>(components[0]);
      return (ops) => {
        const ids = ops.input("ids", [b, tokens], "int32");
        const mask = call === "clap" ? ops.input("mask", [b, tokens], "int32") : undefined;
        return enc.forward(ops, { input_ids: ids, attention_mask: mask }).last_hidden_state;
      };
    }
    case "guidance-audio": {
      // the pipeline's own embed path (audioEmbed) with its backward, as OnnxGuidance builds it
      const vae = modules.get<AutoencoderKL>(components[0]);
      const vocoder = modules.get<SpeechT5HifiGan>(components[1]);
      const ib = modules.get<ImageBindModel>(components[2]);
      const embed = audioEmbed({ vae, vocoder } as AudioLDMModels, ib, clips);
      return (ops) => guidanceGraph(ops, embed, [1, c, h, w]);
    }
    case "guidance-video": {
      // A2V: `batch` distinct frames decoded (2 per clip), as videoEmbed samples them
      const vae = modules.get<AutoencoderKL>(components[0]);
      const ib = modules.get<ImageBindModel>(components[1]);
      const frames = shapes.frames ?? b;
      const sampled = Array.from({ length: 2 * clips }, (_, k) => Math.min(frames - 1, k));
      const embed = videoEmbed({ vae } as AnimateDiffModels, ib, {
        clips,
        sampledFrames: sampled,
      } as VideoGeometry);
      return (ops) => guidanceGraph(ops, embed, [1, c, frames, h, w]);
    }
    case "imagebind-vision":
    case "imagebind-audio":
    case "imagebind-text": {
      const ib = modules.get<ImageBindModel>(components[0]);
      return (ops) => {
        if (call === "imagebind-text")
          return ib.forward(ops, "text", ops.input("ids", [b, 77], "int32")).embedding;
        if (call === "imagebind-audio") {
          const cfg = ib.config;
          return ib.forward(
            ops,
            "audio",
            ops.input("x", [b, clips, 1, cfg.audio_num_mel_bins, cfg.audio_target_len]),
          ).embedding;
        }
        return ib.forward(ops, "vision", ops.input("x", [b, clips, 3, 2, 224, 224])).embedding;
      };
    }
  }
}

/**
 * The tfjs executor's memory per call, as a multiple of the traced, checkpoint-aware tape
 * (`ActivationProfile.tape`): `forward` for a forward inside a tidy, `grad` for a forward + backward (the tape,
 * the recomputed segment and the gradient buffers). Measured with `tf.profile().peakBytes` on tfjs-backend-wasm
 * 4.22 over the default pack's components at two sizes each by tools/planner-calibrate.ts (ratio spread ≤ 3 %
 * except the UNet, 1.7–2.5; the larger size is kept). The VAE, vocoder and ImageBind checkpoint their blocks
 * (ops.checkpoint), so their tape is a fraction of their intermediates; the UNet keeps everything (prompt
 * tuning's backward). Calls not measured borrow their nearest sibling's numbers (unet-motion: unet; clap,
 * clip, ImageBind vision/text: ImageBind audio). The WebGPU backend's numbers are to be measured in the browser.
 */
export type TfjsCallId = Exclude<CallId, "guidance-audio" | "guidance-video">; // those two are ONNX graphs only

export const TFJS_CALIBRATION: Readonly<Record<TfjsCallId, { forward: number; grad: number }>> =
  Object.freeze({
    unet: { forward: 1.01, grad: 2.46 },
    "unet-motion": { forward: 1.01, grad: 2.46 },
    "vae-decode": { forward: 0.84, grad: 2.77 },
    vocoder: { forward: 1.73, grad: 3.83 },
    "audio-decode": { forward: 0.96, grad: 3.07 },
    clap: { forward: 1.27, grad: 2.98 },
    clip: { forward: 1.27, grad: 2.98 },
    "imagebind-vision": { forward: 1.27, grad: 2.98 },
    "imagebind-audio": { forward: 1.27, grad: 2.98 },
    "imagebind-text": { forward: 1.27, grad: 2.98 },
  });

/**
 * loss = 1 − cos(embed(x0), target) and ∂loss/∂x0, traced as one graph (the gradient is the output), with the
 * checkpointed bodies recomputed in the backward as OnnxGuidance builds it by default.
 */
function guidanceGraph(ops: OnnxEmitter, embed: EmbedFn, shape: readonly number[]): Sym {
  const gt = new OnnxGradTracer(ops, { recompute: true });
  const x0 = gt.input("x0", shape, { grad: true });
  const e = embed(gt, x0);
  const target = gt.input("target", gt.shape(e));
  const loss = bindLoss(gt, [{ name: "t", a: target, b: e, weight: 1 }]).total;
  return gt.gradients(loss, [x0])[0];
}

/**
 * The ONNX Runtime guidance graph (forward + emitted backward, checkpointed bodies recomputed, no CPU arena),
 * fitted on the full-size V2A graph measured by `npm run bench` in fresh processes, with glibc's mmap threshold
 * fixed at 1 MiB as tools/run.mjs runs every Node tool (bench/results/2026-11-26-vm.md): peak RSS +2.89 GiB at
 * 1 s and +5.61 GiB at 10 s, with 0.73 GiB of fp32 weights and a traced live-tensor peak of 0.080 / 0.795 GiB.
 * Two points, three terms, so the fixed part is the one measured on the bundled pack (≈ 0.2 GiB of runtime and
 * graph structures for ~10⁴ nodes):
 *  - `weightCopies`: the weights are held about 3.3× while the session exists (the serialized model, ORT's
 *    initializers, its folded transposes and pre-packed GEMM/conv weights);
 *  - `activations`: ORT reaches ≈ 3.8× the traced live peak (conv/conv-transpose workspaces, gradient buffers,
 *    and allocator slack, none of which the tensor trace sees).
 * Under glibc's adaptive threshold (STUDIO_MALLOC=default) the same graph peaked at +3.57 / +7.23 GiB (4× and
 * 5.3× fitted the 2026-11-25 run): fragmentation, not the graph. On the small bundled models these numbers
 * over-estimate, the safe side; planner.test.ts checks the estimate bounds the measured peak there.
 */
export const ORT_GUIDANCE = Object.freeze({ weightCopies: 3.3, activations: 3.8, fixedBytes: 0.2 * 2 ** 30 });
