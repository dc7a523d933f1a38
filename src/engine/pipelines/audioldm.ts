/**
 * AudioLDM as the pipelines use it (diffusers AudioLDMPipeline semantics, v0.21.1):
 *   # 0. seconds → spectrogram height;  # 5. latents [1, C, H/f, mel/f];  # 7. ε̂ from the UNet with CFG
 *   (encoder_hidden_states = None, class_labels = L2-normalised CLAP embeddings [uncond, cond]);
 *   # 8. mel = VAE.decode(z / scaling_factor) → vocoder → waveform, cut to the requested length.
 * The decode path is written against Ops so the aligner can differentiate it on the tfjs executor.
 */
import type { AutoencoderKL } from "../models/diffusers/autoencoder_kl.js";
import type { UNet2DConditionModel } from "../models/diffusers/unet_2d_condition.js";
import { hifiganOutputLength } from "../models/hifigan/config.js";
import type { SpeechT5HifiGan } from "../models/hifigan/model.js";
import type { HostTensor } from "../ops/onnx/session.js";
import type { Ops } from "../ops/ops.js";
import type { ForwardFn, ForwardRunner } from "../ops/runner.js";
import { predictNoiseCfgRows } from "./denoise.js";

export interface AudioLDMModels {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  vocoder: SpeechT5HifiGan;
}

export interface AudioGeometry {
  /** Mel frames of the decoded spectrogram (diffusers `height`). */
  height: number;
  /** [1, C, height / f, model_in_dim / f] */
  latentShape: number[];
  /** Samples the vocoder produces for `height` frames (AudioLDM: 160·height + 32). */
  vocoderLength: number;
  /** Samples kept in the output: int(seconds · sampling_rate). */
  outputLength: number;
  samplingRate: number;
}

/** diffusers AudioLDMPipeline `# 0.` and `prepare_latents` shapes (SPEC §3.3). */
export function audioGeometry(m: AudioLDMModels, seconds: number): AudioGeometry {
  const voc = m.vocoder.config;
  const upsample = voc.upsample_rates.reduce((a, b) => a * b, 1);
  const factor = upsample / voc.sampling_rate; // vocoder_upsample_factor (0.01 s per frame)
  const f = m.vae.scaleFactor;
  let height = Math.trunc(seconds / factor);
  if (height % f !== 0) height = Math.ceil(height / f) * f;
  if (height <= 0) throw new RangeError(`audio length ${seconds} s is shorter than one latent frame`);
  const melBins = voc.model_in_dim;
  return {
    height,
    latentShape: [1, m.unet.config.in_channels, height / f, melBins / f],
    vocoderLength: hifiganOutputLength(voc, height),
    outputLength: Math.trunc(seconds * voc.sampling_rate),
    samplingRate: voc.sampling_rate,
  };
}

/**
 * The loss-path decode of the official loop: mel = vae.decode(x0 / scaling_factor).squeeze(1); wav = vocoder(mel).
 * z [1, C, h, w] → waveform [1, 160·H + 32] (not cut).
 */
export function decodeToWaveform<T>(ops: Ops<T>, m: AudioLDMModels, z: T, taps?: Record<string, T>): T {
  const mel4 = m.vae.decode(ops, ops.div(z, m.vae.config.scaling_factor)); // [1, 1, H, mel]
  const [b, , h, w] = ops.shape(mel4);
  const mel = ops.reshape(mel4, [b, h, w]);
  if (taps) taps.mel = mel;
  const wav = m.vocoder.forward(ops, mel);
  if (taps) taps.waveform = wav;
  return wav;
}

/** diffusers `decode_latents` + `mel_spectrogram_to_waveform`: z · (1/scaling_factor) → VAE → vocoder. */
export const finalDecodeForward =
  (m: AudioLDMModels): ForwardFn =>
  (ops, xs) => {
    const mel4 = m.vae.decode(ops, ops.mul(xs.latent, 1 / m.vae.config.scaling_factor));
    const [b, , h, w] = ops.shape(mel4);
    return { waveform: m.vocoder.forward(ops, ops.reshape(mel4, [b, h, w])) };
  };

/** The UNet forward for runners: inputs sample [B,C,h,w], timestep [1], class_labels [B, D]. */
export const unetForward =
  (m: AudioLDMModels): ForwardFn =>
  (ops, xs) => ({ eps: m.unet.forward(ops, xs.sample, xs.timestep, { classLabels: xs.class_labels }) });

/**
 * ε̂ for latent z at timestep t with classifier-free guidance (SPEC §2.4): `promptEmbeds` [2, D] = [uncond, cond]
 * CLAP embeddings enter as the UNet's class labels (encoder_hidden_states = None).
 */
export function predictNoiseCfg(
  unet: ForwardRunner,
  z: Float32Array,
  latentShape: readonly number[],
  t: number,
  promptEmbeds: HostTensor,
  guidanceScale: number,
): Promise<{ eps: Float32Array; uncond: Float32Array | null; cond: Float32Array }> {
  const names = { sample: "sample", cond: "class_labels" };
  return predictNoiseCfgRows(unet, names, z, latentShape, t, promptEmbeds, guidanceScale);
}
