/**
 * AudioLDM's mel spectrogram (its HiFi-GAN/`TacotronSTFT` front-end: 16 kHz, n_fft = win = 1024, hop 160, reflect
 * padding of (n_fft − hop)/2 per side, no centering, |STFT| (with 1e-9 under the square root), 64 Slaney mels on
 * 0–8 kHz, log(clamp(·, 1e-5))). The VAE is trained to reconstruct it and the vocoder to invert it; a waveform of
 * L samples gives ⌊(L + n_fft − hop − n_fft)/hop⌋ + 1 frames (32 000 → 200 = the pipeline's 2-s height).
 *
 * Two implementations: `melHost` (float64 FFT, data preparation) and `melTf` (a DFT as a strided conv1d, for the
 * vocoder's differentiable mel loss).
 */
import { Fft } from "../../../src/engine/metrics/fft.js";
import { melFilterbank } from "../../../src/engine/metrics/onsets.js";
import type { Ops } from "../../../src/engine/ops/ops.js";
import { TfjsOps, type tf } from "../../../src/engine/ops/tfjs.js";

export const AUDIOLDM_MEL = Object.freeze({
  sampleRate: 16000,
  nFft: 1024,
  hop: 160,
  nMels: 64,
  fmin: 0,
  fmax: 8000,
  clampMin: 1e-5,
});

const bank = melFilterbank(AUDIOLDM_MEL.sampleRate, AUDIOLDM_MEL.nFft, AUDIOLDM_MEL.nMels, 0, 8000);
const NBINS = AUDIOLDM_MEL.nFft / 2 + 1;

function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n); // torch.hann_window (periodic)
  return w;
}
const WINDOW = hann(AUDIOLDM_MEL.nFft);

function reflectPad(x: Float32Array, p: number): Float32Array {
  const out = new Float32Array(x.length + 2 * p);
  out.set(x, p);
  for (let i = 0; i < p; i++) {
    out[p - 1 - i] = x[Math.min(x.length - 1, i + 1)];
    out[p + x.length + i] = x[Math.max(0, x.length - 2 - i)];
  }
  return out;
}

export function melFrames(samples: number): number {
  const { nFft, hop } = AUDIOLDM_MEL;
  return Math.floor((samples + nFft - hop - nFft) / hop) + 1;
}

/** Log-mel [frames, 64] (time-major, as the vocoder and the pipeline's VAE output use it). */
export function melHost(wav: Float32Array): Float32Array {
  const { nFft, hop, nMels, clampMin } = AUDIOLDM_MEL;
  const x = reflectPad(wav, (nFft - hop) / 2);
  const frames = melFrames(wav.length);
  const fft = new Fft(nFft);
  const frame = new Float64Array(nFft);
  const pow = new Float64Array(NBINS);
  const mag = new Float64Array(NBINS);
  const out = new Float32Array(frames * nMels);
  for (let t = 0; t < frames; t++) {
    for (let i = 0; i < nFft; i++) frame[i] = x[t * hop + i] * WINDOW[i];
    fft.powerSpectrum(frame, pow);
    for (let k = 0; k < NBINS; k++) mag[k] = Math.sqrt(pow[k] + 1e-9);
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      for (let k = 0; k < NBINS; k++) s += bank[m * NBINS + k] * mag[k];
      out[t * nMels + m] = Math.log(Math.max(s, clampMin));
    }
  }
  return out;
}

const dftTables = new Map<number, Float32Array>();
let melMatrix: Float32Array | null = null;
const frameIndex = new Map<string, Int32Array>();

/** Windowed real DFT as a matrix [nFft, 2·bins]: columns cos then −sin. */
function dft(nFft: number): Float32Array {
  let k = dftTables.get(nFft);
  if (!k) {
    const bins = nFft / 2 + 1;
    const w = hann(nFft);
    k = new Float32Array(nFft * 2 * bins);
    for (let i = 0; i < nFft; i++)
      for (let f = 0; f < bins; f++) {
        const a = (2 * Math.PI * ((f * i) % nFft)) / nFft;
        k[i * 2 * bins + f] = w[i] * Math.cos(a);
        k[i * 2 * bins + bins + f] = -w[i] * Math.sin(a);
      }
    dftTables.set(nFft, k);
  }
  return k;
}

/** The mel filterbank transposed, [bins, nMels]. */
function melBasis(): Float32Array {
  if (!melMatrix) {
    melMatrix = new Float32Array(NBINS * AUDIOLDM_MEL.nMels);
    for (let m = 0; m < AUDIOLDM_MEL.nMels; m++)
      for (let f = 0; f < NBINS; f++) melMatrix[f * AUDIOLDM_MEL.nMels + m] = bank[m * NBINS + f];
  }
  return melMatrix;
}

/** Sample indices of every frame, [frames·nFft]. */
function framesOf(padded: number, nFft: number, hop: number): Int32Array {
  const key = `${padded}/${nFft}/${hop}`;
  let idx = frameIndex.get(key);
  if (!idx) {
    const frames = Math.floor((padded - nFft) / hop) + 1;
    idx = new Int32Array(frames * nFft);
    for (let f = 0; f < frames; f++) for (let i = 0; i < nFft; i++) idx[f * nFft + i] = f * hop + i;
    frameIndex.set(key, idx);
  }
  return idx;
}

/**
 * |STFT| of waveforms [B, L] → [B·frames, bins] (zero padding of (n_fft − hop)/2 per side, no centering), against
 * `Ops` (trained through tfjs or traced into the ORT training graph). Frames are gathered (gradient: a segment sum)
 * and the DFT is a matmul, so no strided convolution appears on the gradient path.
 */
export function stftMagnitudeOps<T>(
  ops: Ops<T>,
  wav: T,
  nFft: number,
  hop: number,
): { mag: T; frames: number } {
  const p = (nFft - hop) / 2;
  const x = ops.pad(wav, [
    [0, 0],
    [p, p],
  ]);
  const [b, l] = ops.shape(x);
  const idx = framesOf(l, nFft, hop);
  const t = idx.length / nFft;
  const bins = nFft / 2 + 1;
  const frames = ops.reshape(ops.gather(x, ops.constant(idx, [idx.length]), 1), [b * t, nFft]);
  const spec = ops.matmul(frames, ops.constant(dft(nFft), [nFft, 2 * bins])); // [B·T, 2·bins]
  const re = ops.slice(spec, 1, 0, bins);
  const im = ops.slice(spec, 1, bins, 2 * bins);
  return { mag: ops.sqrt(ops.add(ops.add(ops.mul(re, re), ops.mul(im, im)), 1e-9)), frames: t };
}

/** Differentiable AudioLDM log-mel of waveforms [B, L] → [B, frames, 64] (zero instead of reflect padding). */
export function melOps<T>(ops: Ops<T>, wav: T): T {
  const { nFft, hop, clampMin, nMels } = AUDIOLDM_MEL;
  const { mag, frames } = stftMagnitudeOps(ops, wav, nFft, hop);
  const m = ops.matmul(mag, ops.constant(melBasis(), [NBINS, nMels]));
  return ops.reshape(ops.log(ops.maximum(m, clampMin)), [ops.shape(wav)[0], frames, nMels]);
}

let tfOps: TfjsOps | null = null;

/** `melOps` on tf tensors (frozen executor; gradients flow through the tf ops). */
export function melTf(wav: tf.Tensor2D): tf.Tensor3D {
  tfOps ??= new TfjsOps();
  return melOps(tfOps, wav) as tf.Tensor3D;
}
