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
import { tf } from "../../../src/engine/ops/tfjs.js";

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

const dftTables = new Map<number, tf.Tensor2D>();
let melMatrix: tf.Tensor2D | null = null;
const frameIndex = new Map<string, tf.Tensor2D>();

/** [n_fft, 2·bins]: periodic-Hann-windowed cos and −sin columns of the DFT. */
function dft(nFft: number): tf.Tensor2D {
  let t = dftTables.get(nFft);
  if (!t) {
    const bins = nFft / 2 + 1;
    const w = hann(nFft);
    const k = new Float32Array(nFft * 2 * bins);
    for (let i = 0; i < nFft; i++)
      for (let f = 0; f < bins; f++) {
        const a = (2 * Math.PI * ((f * i) % nFft)) / nFft;
        k[i * 2 * bins + f] = w[i] * Math.cos(a);
        k[i * 2 * bins + bins + f] = -w[i] * Math.sin(a);
      }
    t = tf.keep(tf.tensor2d(k, [nFft, 2 * bins]));
    dftTables.set(nFft, t);
  }
  return t;
}

function melBasis(): tf.Tensor2D {
  if (!melMatrix) {
    const mt = new Float32Array(NBINS * AUDIOLDM_MEL.nMels);
    for (let m = 0; m < AUDIOLDM_MEL.nMels; m++)
      for (let f = 0; f < NBINS; f++) mt[f * AUDIOLDM_MEL.nMels + m] = bank[m * NBINS + f];
    melMatrix = tf.keep(tf.tensor2d(mt, [NBINS, AUDIOLDM_MEL.nMels]));
  }
  return melMatrix;
}

/** Sample index of every (frame, tap): [frames, n_fft] int32. */
function framesOf(padded: number, nFft: number, hop: number): tf.Tensor2D {
  const key = `${padded}/${nFft}/${hop}`;
  let t = frameIndex.get(key);
  if (!t) {
    const frames = Math.floor((padded - nFft) / hop) + 1;
    const idx = new Int32Array(frames * nFft);
    for (let f = 0; f < frames; f++) for (let i = 0; i < nFft; i++) idx[f * nFft + i] = f * hop + i;
    t = tf.keep(tf.tensor2d(idx, [frames, nFft], "int32"));
    frameIndex.set(key, t);
  }
  return t;
}

/**
 * |STFT| of waveforms [B, L] → [B·frames, bins] (zero padding of (n_fft − hop)/2 per side, no centering).
 * Frames are gathered (gradient: a segment sum) and the DFT is a matmul, so no strided convolution appears on
 * the gradient path.
 */
export function stftMagnitude(
  wav: tf.Tensor2D,
  nFft: number,
  hop: number,
): { mag: tf.Tensor2D; frames: number } {
  const p = (nFft - hop) / 2;
  const x = tf.pad(wav, [
    [0, 0],
    [p, p],
  ]);
  const [b, l] = x.shape;
  const idx = framesOf(l, nFft, hop);
  const t = idx.shape[0];
  const bins = nFft / 2 + 1;
  const frames = tf.reshape(tf.gather(x, tf.reshape(idx, [-1]), 1), [b * t, nFft]);
  const spec = tf.matMul(frames, dft(nFft)); // [B·T, 2·bins]
  const re = tf.slice(spec, [0, 0], [b * t, bins]);
  const im = tf.slice(spec, [0, bins], [b * t, bins]);
  return { mag: tf.sqrt(tf.add(tf.add(tf.square(re), tf.square(im)), 1e-9)) as tf.Tensor2D, frames: t };
}

/** Differentiable AudioLDM log-mel of waveforms [B, L] → [B, frames, 64] (zero instead of reflect padding). */
export function melTf(wav: tf.Tensor2D): tf.Tensor3D {
  const { nFft, hop, clampMin, nMels } = AUDIOLDM_MEL;
  const { mag, frames } = stftMagnitude(wav, nFft, hop);
  const m = tf.matMul(mag, melBasis());
  return tf.reshape(tf.log(tf.maximum(m, clampMin)), [wav.shape[0], frames, nMels]) as tf.Tensor3D;
}
