/**
 * `SpeechT5HifiGanConfig` (transformers models/speecht5/configuration_speecht5.py), keys verbatim. Defaults are
 * the class defaults (microsoft/speecht5_hifigan); `audioldmVocoderConfig` is what diffusers'
 * `scripts/convert_original_audioldm_to_diffusers.py::create_transformers_vocoder_config` writes for AudioLDM
 * (SPEC §5.1; manifests/audioldm_m_full_vocoder.json).
 */
import { ModelPackError } from "../../errors.js";
import { pickKeys } from "../hf_config.js";

export interface SpeechT5HifiGanConfig {
  /** Mel bins of the input spectrogram [B, T, model_in_dim]. */
  model_in_dim: number;
  sampling_rate: number;
  upsample_initial_channel: number;
  upsample_rates: readonly number[];
  upsample_kernel_sizes: readonly number[];
  resblock_kernel_sizes: readonly number[];
  resblock_dilation_sizes: readonly (readonly number[])[];
  initializer_range: number;
  /** Slope of the leaky ReLUs before each upsampler and inside the resblocks (NOT the final one: 0.01). */
  leaky_relu_slope: number;
  /** `(mel − mean) / scale` with the `mean`/`scale` buffers before `conv_pre`. AudioLDM: false. */
  normalize_before: boolean;
}

export const speecht5HifiGanDefaults: Readonly<SpeechT5HifiGanConfig> = Object.freeze({
  model_in_dim: 80,
  sampling_rate: 16000,
  upsample_initial_channel: 512,
  upsample_rates: [4, 4, 4, 4],
  upsample_kernel_sizes: [8, 8, 8, 8],
  resblock_kernel_sizes: [3, 7, 11],
  resblock_dilation_sizes: [
    [1, 3, 5],
    [1, 3, 5],
    [1, 3, 5],
  ],
  initializer_range: 0.01,
  leaky_relu_slope: 0.1,
  normalize_before: true,
});

/** The AudioLDM vocoder (all `cvssp/audioldm*` checkpoints). */
export const audioldmVocoderConfig: Readonly<Partial<SpeechT5HifiGanConfig>> = Object.freeze({
  model_in_dim: 64,
  sampling_rate: 16000,
  upsample_initial_channel: 1024,
  upsample_rates: [5, 4, 2, 2, 2],
  upsample_kernel_sizes: [16, 16, 8, 4, 4],
  resblock_kernel_sizes: [3, 7, 11],
  resblock_dilation_sizes: [
    [1, 3, 5],
    [1, 3, 5],
    [1, 3, 5],
  ],
  normalize_before: false,
});

/**
 * Defaults + overrides (a parsed `vocoder/config.json` may be passed whole: unknown keys such as `architectures`
 * or `torch_dtype` are ignored). Checks what the constructor relies on.
 */
export function speecht5HifiGanConfig(
  overrides: Partial<SpeechT5HifiGanConfig> | Readonly<Record<string, unknown>> = {},
): SpeechT5HifiGanConfig {
  const c = pickKeys(speecht5HifiGanDefaults, overrides as Record<string, unknown>);
  const bad = (msg: string) => new ModelPackError(`SpeechT5HifiGan config: ${msg}`);
  if (c.upsample_rates.length !== c.upsample_kernel_sizes.length)
    throw bad(
      `upsample_rates [${c.upsample_rates}] and upsample_kernel_sizes [${c.upsample_kernel_sizes}] differ in length`,
    );
  if (c.resblock_kernel_sizes.length !== c.resblock_dilation_sizes.length)
    throw bad("resblock_kernel_sizes and resblock_dilation_sizes differ in length");
  if (c.upsample_initial_channel % 2 ** c.upsample_rates.length !== 0)
    throw bad(
      `upsample_initial_channel ${c.upsample_initial_channel} is not divisible by 2^${c.upsample_rates.length}`,
    );
  for (const k of c.resblock_kernel_sizes)
    if (k % 2 !== 1) throw bad(`resblock kernel size ${k} must be odd (same-length convolutions)`);
  return c;
}

/** Waveform samples for `frames` mel frames: every ConvTranspose1d maps L → (L−1)·u − 2·((k−u)//2) + k. */
export function hifiganOutputLength(c: SpeechT5HifiGanConfig, frames: number): number {
  let l = frames;
  c.upsample_rates.forEach((u, i) => {
    const k = c.upsample_kernel_sizes[i];
    l = (l - 1) * u - 2 * Math.floor((k - u) / 2) + k;
  });
  return l;
}
