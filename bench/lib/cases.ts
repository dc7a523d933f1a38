/**
 * Benchmark cases: a model forward at a studio shape, written once against `Ops` so every executor (ORT-node,
 * ORT-web wasm/WebGPU, tfjs wasm/WebGPU) runs the same code. Pure (no Node imports): the browser bench bundles
 * it too. Configs come from the caller (full-size from the golden manifests in Node, the default pack's small
 * ones in the browser).
 */

import { AutoencoderKL } from "../../src/engine/models/diffusers/autoencoder_kl.js";
import { UNet2DConditionModel } from "../../src/engine/models/diffusers/unet_2d_condition.js";
import { UNetMotionModel } from "../../src/engine/models/diffusers/unet_motion_model.js";
import { SpeechT5HifiGan } from "../../src/engine/models/hifigan/model.js";
import type { ImageBindConfig } from "../../src/engine/models/imagebind/config.js";
import { ImageBindModel, type Modality } from "../../src/engine/models/imagebind/model.js";
import { imagebindPrefixes } from "../../src/engine/models/registry.js";
import {
  type BuiltModel,
  OnnxEmitter,
  type Sym,
  type WeightFormat,
} from "../../src/engine/ops/onnx/emitter.js";
import type { Ops } from "../../src/engine/ops/ops.js";
import { namedParams } from "../../src/engine/ops/param.js";
import { audioToImageBindInput } from "../../src/engine/preprocess/audio/imagebind_audio.js";
import { countFlops } from "./flops.js";

export interface HostInput {
  data: Float32Array | Int32Array;
  shape: number[];
}

export type Forward = <T>(ops: Ops<T>, xs: Record<string, T>) => T;

export interface Case {
  /** component id: "unet", "vae-decode", "vocoder", "fbank", "ib-audio", "ib-vision", "ib-text", "unet-motion" */
  component: string;
  /** the input shape, in words */
  shape: string;
  inputs: Record<string, HostInput>;
  forward: Forward;
  /** The module whose parameters the forward reads (null: none). */
  module: object | null;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A smooth deterministic signal in [-amp, amp]. */
export function wave(n: number, phase = 0, amp = 0.5): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 12.9898 + phase) * amp;
  return out;
}

const BASE_BITS = 20;
let base: Float32Array | null = null;

/**
 * Random weights, fast: values from a fixed 2^20-entry uniform table read at a per-tensor offset and scaled so
 * rank ≥ 2 weights have variance 1/fan_in, norm scales are ≈ 1 and other vectors small (right magnitudes, no
 * NaN/overflow through deep stacks; timing does not need i.i.d. Gaussian weights). `keep` filters keys.
 */
export function fillRandom(model: object, keep: (key: string) => boolean = () => true, seed = 1): number {
  if (!base) {
    base = new Float32Array(1 << BASE_BITS);
    let s = 12345;
    for (let i = 0; i < base.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      base[i] = (s / 2 ** 32) * 2 - 1;
    }
  }
  const mask = (1 << BASE_BITS) - 1;
  let off = seed * 7919;
  let n = 0;
  for (const [key, p] of namedParams(model)) {
    if (!keep(key)) continue;
    if (p.init) {
      p.set(p.init());
      continue;
    }
    if (p.dtype !== "float32") {
      p.set(new Int32Array(p.size));
      continue;
    }
    const fanIn = size(p.shape.slice(1));
    const scale = p.shape.length >= 2 ? Math.sqrt(3 / fanIn) : 0.1;
    const shift = p.shape.length <= 1 && key.endsWith("weight") ? 1 : 0;
    const v = new Float32Array(p.size);
    off = (off + 104729) & mask;
    for (let i = 0; i < v.length; i++) v[i] = base[(i + off) & mask] * scale + shift;
    p.set(v);
    n += p.size;
  }
  return n;
}

/** Drop the host copies of a module's weights (after its graphs were emitted / its tfjs tensors made). */
export function releaseWeights(model: object): void {
  for (const [, p] of namedParams(model)) p.data = null;
}

// --- AudioLDM -------------------------------------------------------------------------------------------------

export function audioUnet(config: Record<string, unknown>): UNet2DConditionModel {
  return new UNet2DConditionModel(config, "audioldm unet");
}

/** CFG step input for `seconds` of audio: sample [batch, 8, 25·s, 16], class_labels [batch, D]. */
export function audioUnetCase(unet: UNet2DConditionModel, seconds: number, batch = 2, frames?: number): Case {
  const c = unet.config;
  const h = frames ?? Math.round(seconds * 25);
  const shape = [batch, c.in_channels, h, 16];
  const d = c.projection_class_embeddings_input_dim ?? 512;
  return {
    component: "unet",
    shape: `[${shape}]`,
    module: unet,
    inputs: {
      sample: { data: wave(size(shape)), shape },
      timestep: { data: Int32Array.of(958), shape: [1] },
      class_labels: { data: wave(batch * d, 1, 0.05), shape: [batch, d] },
    },
    forward: (ops, xs) => unet.forward(ops, xs.sample, xs.timestep, { classLabels: xs.class_labels }),
  };
}

export function audioVae(config: Record<string, unknown>): AutoencoderKL {
  return new AutoencoderKL(config, "audioldm vae");
}

/** Final-decode VAE: z [1, 8, 25·s, 16] → log-mel [1, 1, 100·s, 64]. */
export function vaeDecodeCase(vae: AutoencoderKL, seconds: number): Case {
  const f = vae.scaleFactor;
  const shape = [1, vae.config.latent_channels, Math.round((seconds * 100) / f), 64 / f];
  return {
    component: "vae-decode",
    shape: `[${shape}]`,
    module: vae,
    inputs: { z: { data: wave(size(shape)), shape } },
    forward: (ops, xs) => vae.decode(ops, xs.z),
  };
}

export function vocoder(config: Record<string, unknown>): SpeechT5HifiGan {
  return new SpeechT5HifiGan(config);
}

/** mel [1, 100·s, 64] → waveform [1, 16000·s + 32]. */
export function vocoderCase(voc: SpeechT5HifiGan, seconds: number): Case {
  const shape = [1, Math.round(seconds * 100), voc.config.model_in_dim];
  return {
    component: "vocoder",
    shape: `[${shape}]`,
    module: voc,
    inputs: { mel: { data: wave(size(shape), 0, 2), shape } },
    forward: (ops, xs) => voc.forward(ops, xs.mel),
  };
}

/** The ImageBind audio front end: waveform [1, 16000·s + 32] → [1, S, 1, 128, 204] (S = s clips). */
export function fbankCase(seconds: number): Case {
  const shape = [1, Math.round(seconds * 16000) + 32];
  return {
    component: "fbank",
    shape: `[${shape}] → ${seconds} clips`,
    module: null,
    inputs: { wav: { data: wave(size(shape), 0, 0.3), shape } },
    forward: (ops, xs) => audioToImageBindInput(ops, xs.wav, seconds),
  };
}

// --- ImageBind ------------------------------------------------------------------------------------------------

export const STUDIO_MODALITIES: readonly Modality[] = ["vision", "text", "audio"];

export function imagebind(config: Partial<ImageBindConfig>): ImageBindModel {
  return new ImageBindModel(config);
}

/** Fill only the keys of `modalities` (ImageBind's depth/thermal/IMU towers are never run). */
export function fillImageBind(
  ib: ImageBindModel,
  modalities: readonly Modality[] = STUDIO_MODALITIES,
): number {
  const pre = imagebindPrefixes(modalities);
  return fillRandom(ib, (k) => pre.some((p) => k.startsWith(p)));
}

export function ibAudioCase(ib: ImageBindModel, clips: number): Case {
  const shape = [1, clips, 1, 128, 204];
  return {
    component: "ib-audio",
    shape: `[${shape}]`,
    module: ib,
    inputs: { audio: { data: wave(size(shape)), shape } },
    forward: (ops, xs) => ib.embed(ops, "audio", xs.audio),
  };
}

export function ibVisionCase(ib: ImageBindModel, clips: number): Case {
  const shape = [1, clips, 3, 2, 224, 224];
  return {
    component: "ib-vision",
    shape: `[${shape}]`,
    module: ib,
    inputs: { video: { data: wave(size(shape)), shape } },
    forward: (ops, xs) => ib.embed(ops, "vision", xs.video),
  };
}

export function ibTextCase(ib: ImageBindModel): Case {
  const ids = new Int32Array(77);
  ids.set([49406, 320, 1929, 539, 320, 2368, 49407]); // "a photo of a dog" + EOT
  return {
    component: "ib-text",
    shape: "[1,77]",
    module: ib,
    inputs: { ids: { data: ids, shape: [1, 77] } },
    forward: (ops, xs) => ib.embed(ops, "text", xs.ids),
  };
}

// --- Stable Diffusion / AnimateDiff ---------------------------------------------------------------------------

export function motionUnet(
  unetConfig: Record<string, unknown>,
  adapterConfig: Record<string, unknown>,
): UNetMotionModel {
  return new UNetMotionModel(unetConfig, adapterConfig);
}

/** CFG step of the AnimateDiff UNet: sample [2, 4, F, px/8, px/8], text states [2, 77, D]. */
export function motionUnetCase(unet: UNetMotionModel, frames: number, px: number): Case {
  const s = px / 8;
  const shape = [2, unet.config.in_channels, frames, s, s];
  const d = unet.config.cross_attention_dim;
  const dim = typeof d === "number" ? d : (d as readonly number[])[0];
  return {
    component: "unet-motion",
    shape: `[${shape}]`,
    module: unet,
    inputs: {
      sample: { data: wave(size(shape)), shape },
      timestep: { data: Int32Array.of(961), shape: [1] },
      text: { data: wave(2 * 77 * dim, 2), shape: [2, 77, dim] },
    },
    forward: (ops, xs) => unet.forward(ops, xs.sample, xs.timestep, { encoderHiddenStates: xs.text }),
  };
}

// --- tracing --------------------------------------------------------------------------------------------------

export interface Emitted {
  built: BuiltModel;
  /** 2 × multiply-adds of the conv/matmul/attention work */
  flops: number;
  /** Ops calls by name */
  calls: Record<string, number>;
  emitMs: number;
}

/** Trace a case into an ONNX graph (one output "y"), counting its FLOPs on the way. */
export function emitCase(c: Case, weights: WeightFormat, externalData = true): Emitted {
  const t0 = performance.now();
  const em = new OnnxEmitter({ weights });
  const fc = countFlops<Sym>(em);
  const xs: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(c.inputs))
    xs[k] = em.input(k, v.shape, v.data instanceof Int32Array ? "int32" : "float32");
  em.output("y", c.forward(fc.ops, xs));
  const built = em.build(externalData ? { externalData: { path: "weights.bin" } } : {});
  return {
    built,
    flops: fc.flops(),
    calls: Object.fromEntries(fc.calls),
    emitMs: performance.now() - t0,
  };
}

/** FLOPs of a case without building a graph. */
export function caseFlops(c: Case): number {
  const em = new OnnxEmitter();
  const fc = countFlops<Sym>(em);
  const xs: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(c.inputs))
    xs[k] = em.input(k, v.shape, v.data instanceof Int32Array ? "int32" : "float32");
  c.forward(fc.ops, xs);
  return fc.flops();
}

type GuidanceConfigs = {
  audioVae: Record<string, unknown>;
  vocoder: Record<string, unknown>;
  imagebind: Parameters<typeof imagebind>[0];
};

/** The guidance path's models (AudioLDM VAE, vocoder, ImageBind audio tower) with random weights of `cfg`. */
export function guidanceModels(cfg: GuidanceConfigs) {
  const vae = audioVae(cfg.audioVae);
  const voc = vocoder(cfg.vocoder);
  const ib = imagebind(cfg.imagebind);
  fillRandom(vae);
  fillRandom(voc);
  fillImageBind(ib, ["audio"]);
  return { vae, voc, ib };
}

/** How many parameters `guidanceModels(cfg)` fills, counted on the definitions (no weights allocated). */
export function guidanceParamCount(cfg: GuidanceConfigs): number {
  const audio = imagebindPrefixes(["audio"]);
  const count = (m: object, keep: (k: string) => boolean = () => true) =>
    namedParams(m).reduce((a, [k, p]) => a + (keep(k) ? p.size : 0), 0);
  return (
    count(audioVae(cfg.audioVae)) +
    count(vocoder(cfg.vocoder)) +
    count(imagebind(cfg.imagebind), (k) => audio.some((p) => k.startsWith(p)))
  );
}
