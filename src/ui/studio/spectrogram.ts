/**
 * Display helpers for audio and previews: a log-power spectrogram of a waveform (Hann window, at most `maxFrames`
 * columns so a long clip stays cheap on the UI thread) and a colour map. Pictures only — no metric uses these.
 */
import { Fft } from "../../engine/metrics/fft.js";

export interface Spectrogram {
  /** dB values normalised to 0..1, [frames, bins] row-major, bin 0 = lowest frequency. */
  data: Float32Array;
  frames: number;
  bins: number;
}

export function spectrogram(
  x: Float32Array,
  opts: { nFft?: number; maxFrames?: number; rangeDb?: number } = {},
): Spectrogram {
  const nFft = opts.nFft ?? 512;
  const maxFrames = opts.maxFrames ?? 480;
  const rangeDb = opts.rangeDb ?? 80;
  const bins = nFft / 2 + 1;
  const hop = Math.max(1, Math.ceil(Math.max(1, x.length - nFft) / (maxFrames - 1)));
  const frames = Math.max(1, Math.min(maxFrames, Math.floor(Math.max(0, x.length - nFft) / hop) + 1));
  const fft = new Fft(nFft);
  const win = new Float64Array(nFft);
  for (let i = 0; i < nFft; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / nFft);
  const frame = new Float64Array(nFft);
  const power = new Float64Array(bins);
  const db = new Float32Array(frames * bins);
  let top = -Infinity;
  for (let f = 0; f < frames; f++) {
    const at = f * hop;
    for (let i = 0; i < nFft; i++) frame[i] = (x[at + i] ?? 0) * win[i]!;
    fft.powerSpectrum(frame, power);
    for (let k = 0; k < bins; k++) {
      const v = 10 * Math.log10(power[k]! + 1e-10);
      db[f * bins + k] = v;
      if (v > top) top = v;
    }
  }
  for (let i = 0; i < db.length; i++) db[i] = Math.min(1, Math.max(0, (db[i]! - (top - rangeDb)) / rangeDb));
  return { data: db, frames, bins };
}

/** Normalises any image to 0..1 by its own min and max. */
export function normalise(data: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo || 1;
  return data.map((v) => (v - lo) / span);
}

/** A perceptual dark-blue → yellow ramp (viridis-like), v in 0..1 → [r, g, b]. */
const STOPS: readonly [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

export function colour(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/**
 * An image [frames, bins] (time-major) → RGBA pixels with time on x and frequency on y (low frequencies at the
 * bottom), `width` = frames, `height` = bins.
 */
export function timeFreqToRgba(
  data: Float32Array,
  frames: number,
  bins: number,
): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(frames * bins * 4);
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < bins; k++) {
      const [r, g, b] = colour(data[f * bins + k]!);
      const o = ((bins - 1 - k) * frames + f) * 4;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = 255;
    }
  }
  return out;
}
