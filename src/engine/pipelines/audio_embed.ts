/**
 * The V2A/I2A guidance path (SPEC §3.4 d, 7b–7d): x0 → VAE decoder → mel → vocoder → waveform → 1-s clips →
 * Kaldi fbank → ImageBind audio → e_audio, differentiable on the tfjs executor.
 */
import { type EmbedFn, type EmbedPath, onTfjs } from "../aligner/hook.js";
import type { ImageBindModel } from "../models/imagebind/model.js";
import type { TfjsOps } from "../ops/tfjs.js";
import { audioToImageBindInput } from "../preprocess/audio/imagebind_audio.js";
import { type AudioLDMModels, decodeToWaveform } from "./audioldm.js";

export function audioEmbed(m: AudioLDMModels, imagebind: ImageBindModel, clipsPerVideo: number): EmbedFn {
  return (ops, x0, taps) => {
    const wav = decodeToWaveform(ops, m, x0, taps);
    const input = audioToImageBindInput(ops, wav, clipsPerVideo);
    if (taps) taps.audio_input = input;
    return imagebind.embed(ops, "audio", input);
  };
}

export function audioEmbedPath(
  ops: TfjsOps,
  m: AudioLDMModels,
  imagebind: ImageBindModel,
  clipsPerVideo: number,
): EmbedPath {
  return onTfjs(ops, audioEmbed(m, imagebind, clipsPerVideo));
}
