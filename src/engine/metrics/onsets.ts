/**
 * Audio onsets as AV-align computes them (SPEC §6.3 step 1), ported from librosa 0.10.1:
 *
 *   onset_env = librosa.onset.onset_strength(y=y, sr=sr)
 *   frames    = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr)
 *   times     = librosa.frames_to_time(frames, sr=sr)
 *
 * - `onset.py` `onset_strength_multi`: `feature.melspectrogram` (centred STFT, n_fft 2048, hop 512, periodic
 *   Hann, `pad_mode="constant"` zeros, power 2; `filters.mel` with 128 Slaney-scale, Slaney-normalised bands,
 *   fmin 0, fmax sr/2, float32 weights) → `power_to_db` (ref 1, amin 1e-10, top_db 80 below the global max) →
 *   `S[:, lag:] − ref[:, :−lag]` with ref = S (max_size 1) → max(0, ·) → mean over bands → left-pad by
 *   `lag + n_fft // (2·hop)` zeros → trim to the number of STFT frames;
 * - `onset_detect`: normalise to [0, 1] (`(e − min) / (max + tiny)`), return nothing if the envelope is all zero
 *   or not finite, else `util.peak_pick` with pre_max 0.03·sr//hop, post_max 0.00·sr//hop + 1, pre_avg
 *   0.10·sr//hop, post_avg 0.10·sr//hop + 1, wait 0.03·sr//hop, delta 0.07 (1, 1, 4, 5, 1 at 22050 Hz);
 * - `utils.py` `peak_pick`: x[n] equals the max of the truncated window x[n − pre_max : n + post_max]
 *   (scipy `maximum_filter1d`, mode constant, cval = min x), x[n] ≥ mean(x[n − pre_avg : n + post_avg]) + delta
 *   (windows truncated at both ends, as librosa's explicit corrections make them), x[n] > 0, and greedy `wait`.
 *
 * Arithmetic: float64 inside, rounded to float32 where librosa's arrays are float32 (spectrogram, dB, envelope,
 * normalised envelope, the `mov_avg + delta` threshold). numpy's float32 reduction order is not reproduced, so
 * envelope values can differ from librosa's in the last float32 bits (the tests pin the size of that).
 */
import { BadInputError } from "../errors.js";
import { Fft } from "./fft.js";

const f32 = Math.fround;

export interface OnsetStrengthOptions {
  sr: number;
  nFft: number;
  hopLength: number;
  nMels: number;
  fmin: number;
  /** Default sr/2 (`onset_strength_multi` sets fmax = 0.5·sr). */
  fmax?: number;
  lag: number;
  center: boolean;
  /** power_to_db */
  ref: number;
  amin: number;
  topDb: number | null;
}

/** librosa 0.10.1 defaults, at librosa.load's default rate. */
export const LIBROSA_ONSET_DEFAULTS: Readonly<OnsetStrengthOptions> = Object.freeze({
  sr: 22050,
  nFft: 2048,
  hopLength: 512,
  nMels: 128,
  fmin: 0,
  lag: 1,
  center: true,
  ref: 1,
  amin: 1e-10,
  topDb: 80,
});

/** `convert.py` hz_to_mel (Slaney: linear below 1 kHz, log above). */
export function hzToMel(f: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logstep = Math.log(6.4) / 27;
  return f >= minLogHz ? minLogMel + Math.log(f / minLogHz) / logstep : f / fSp;
}

/** `convert.py` mel_to_hz (Slaney). */
export function melToHz(m: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logstep = Math.log(6.4) / 27;
  return m >= minLogMel ? minLogHz * Math.exp(logstep * (m - minLogMel)) : fSp * m;
}

/**
 * `filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney", dtype=float32)`: [nMels, 1 + nFft/2],
 * triangles on `mel_frequencies(n_mels + 2)` (linspace in mel), each scaled by 2/(f[i+2] − f[i]).
 */
export function melFilterbank(
  sr: number,
  nFft: number,
  nMels: number,
  fmin = 0,
  fmax = sr / 2,
): Float32Array {
  const nBins = 1 + (nFft >> 1);
  const fft = new Float64Array(nBins);
  const val = 1 / (nFft * (1 / sr)); // np.fft.rfftfreq(n_fft, d=1/sr)
  for (let k = 0; k < nBins; k++) fft[k] = k * val;
  const lo = hzToMel(fmin);
  const hi = hzToMel(fmax);
  const melF = new Float64Array(nMels + 2);
  const step = (hi - lo) / (nMels + 1); // np.linspace(lo, hi, n_mels + 2)
  for (let i = 0; i < nMels + 2; i++) melF[i] = melToHz(i === nMels + 1 ? hi : i * step + lo);
  const w = new Float32Array(nMels * nBins);
  for (let i = 0; i < nMels; i++) {
    const d0 = melF[i + 1] - melF[i];
    const d1 = melF[i + 2] - melF[i + 1];
    const enorm = 2 / (melF[i + 2] - melF[i]);
    for (let k = 0; k < nBins; k++) {
      const lower = -(melF[i] - fft[k]) / d0;
      const upper = (melF[i + 2] - fft[k]) / d1;
      // stored float32, then scaled by the float64 enorm and stored float32 again (numpy in-place *=)
      w[i * nBins + k] = f32(Math.max(0, Math.min(lower, upper))) * enorm;
    }
  }
  return w;
}

/**
 * Mel power spectrogram in dB, `power_to_db(melspectrogram(y))`: [nMels, frames] row-major, float32 values.
 */
export function melSpectrogramDb(
  y: Float32Array,
  o: Readonly<OnsetStrengthOptions>,
): { db: Float32Array; frames: number } {
  const { nFft, hopLength, nMels } = o;
  const pad = o.center ? nFft >> 1 : 0;
  const padded = y.length + 2 * pad;
  if (padded < nFft) throw new BadInputError(`Audio of ${y.length} samples is too short for n_fft=${nFft}.`);
  const frames = 1 + Math.floor((padded - nFft) / hopLength);
  const nBins = 1 + (nFft >> 1);
  const win = new Float64Array(nFft);
  for (let i = 0; i < nFft; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / nFft); // periodic Hann
  const mel = melFilterbank(o.sr, nFft, nMels, o.fmin, o.fmax ?? o.sr / 2);
  const fft = new Fft(nFft);
  const frame = new Float64Array(nFft);
  const pow = new Float64Array(nBins);
  // each triangle is non-zero on one contiguous bin range: skip the zeros (adding 0 changes no sum)
  const lo = new Int32Array(nMels);
  const hi = new Int32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    let a = 0;
    while (a < nBins && mel[m * nBins + a] === 0) a++;
    let b = nBins;
    while (b > a && mel[m * nBins + b - 1] === 0) b--;
    lo[m] = a;
    hi[m] = b;
  }
  const S = new Float32Array(nMels * frames);
  for (let t = 0; t < frames; t++) {
    const start = t * hopLength - pad;
    for (let i = 0; i < nFft; i++) {
      const j = start + i;
      frame[i] = j >= 0 && j < y.length ? y[j] * win[i] : 0;
    }
    fft.powerSpectrum(frame, pow, true); // complex64 STFT → float32 |·|²
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      const row = m * nBins;
      for (let k = lo[m]; k < hi[m]; k++) s += mel[row + k] * pow[k];
      S[m * frames + t] = s;
    }
  }
  // power_to_db(S, ref, amin, top_db)
  const refDb = 10 * Math.log10(Math.max(o.amin, Math.abs(o.ref)));
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < S.length; i++) {
    S[i] = f32(f32(10 * f32(Math.log10(Math.max(o.amin, S[i])))) - refDb);
    if (S[i] > max) max = S[i];
  }
  if (o.topDb !== null) {
    const floor = f32(max - o.topDb);
    for (let i = 0; i < S.length; i++) if (S[i] < floor) S[i] = floor;
  }
  return { db: S, frames };
}

/** `librosa.onset.onset_strength(y=y, sr=sr)` (mean aggregation, max_size 1, detrend off). */
export function onsetStrength(y: Float32Array, options: Partial<OnsetStrengthOptions> = {}): Float32Array {
  const o = { ...LIBROSA_ONSET_DEFAULTS, ...options };
  if (!Number.isInteger(o.lag) || o.lag < 1)
    throw new BadInputError(`lag=${o.lag} must be a positive integer.`);
  const { db, frames } = melSpectrogramDb(y, o);
  const nMels = o.nMels;
  const padW = o.lag + (o.center ? Math.floor(o.nFft / (2 * o.hopLength)) : 0);
  const diffLen = Math.max(frames - o.lag, 0);
  const full = padW + diffLen;
  const outLen = o.center ? Math.min(full, frames) : full;
  const env = new Float32Array(outLen);
  for (let t = padW; t < outLen; t++) {
    const j = t - padW; // diff index: S[:, j + lag] − S[:, j]
    let s = 0;
    for (let m = 0; m < nMels; m++) {
      const r = m * frames;
      const d = f32(db[r + j + o.lag] - db[r + j]);
      if (d > 0) s += d;
    }
    env[t] = s / nMels;
  }
  return env;
}

/** `util.peak_pick` parameters (frames). */
export interface PeakPickParams {
  preMax: number;
  postMax: number;
  preAvg: number;
  postAvg: number;
  delta: number;
  wait: number;
}

/** `onset_detect`'s defaults: x·sr // hop with Python's float floor division. */
export function onsetPeakPickDefaults(sr: number, hopLength: number): PeakPickParams {
  const fd = (a: number): number => Math.floor(a / hopLength);
  return {
    preMax: fd(0.03 * sr),
    postMax: fd(0.0 * sr) + 1,
    preAvg: fd(0.1 * sr),
    postAvg: fd(0.1 * sr) + 1,
    wait: fd(0.03 * sr),
    delta: 0.07,
  };
}

/** librosa 0.10.1 `util.peak_pick` on a float32 signal; returns frame indices. */
export function peakPick(x: Float32Array, p: Readonly<PeakPickParams>): number[] {
  const { delta } = p;
  if (p.preMax < 0 || p.preAvg < 0 || delta < 0 || p.wait < 0 || p.postMax <= 0 || p.postAvg <= 0) {
    throw new BadInputError("peak_pick: pre_* and wait must be ≥ 0, post_* > 0, delta ≥ 0.");
  }
  const preMax = Math.ceil(p.preMax);
  const postMax = Math.ceil(p.postMax);
  const preAvg = Math.ceil(p.preAvg);
  const postAvg = Math.ceil(p.postAvg);
  const wait = Math.ceil(p.wait);
  const n = x.length;
  // prefix sums in float64 for the truncated moving average
  const cum = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cum[i + 1] = cum[i] + x[i];
  const peaks: number[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (!(v !== 0)) continue; // np.nonzero(x * mask): a zero (or NaN-free zero) sample is never a peak
    let mx = Number.NEGATIVE_INFINITY;
    for (let j = Math.max(0, i - preMax); j < Math.min(n, i + postMax); j++) if (x[j] > mx) mx = x[j];
    if (v !== mx) continue;
    const a = Math.max(0, i - preAvg);
    const b = Math.min(n, i + postAvg);
    const avg = f32((cum[b] - cum[a]) / (b - a));
    if (!(v >= f32(avg + delta))) continue;
    if (i > last + wait) {
      peaks.push(i);
      last = i;
    }
  }
  return peaks;
}

/** `librosa.onset.onset_detect(onset_envelope=env, sr=sr)` → onset frame indices (units "frames"). */
export function onsetDetect(
  env: Float32Array,
  options: { sr?: number; hopLength?: number; normalize?: boolean; peakPick?: Partial<PeakPickParams> } = {},
): number[] {
  const sr = options.sr ?? LIBROSA_ONSET_DEFAULTS.sr;
  const hop = options.hopLength ?? LIBROSA_ONSET_DEFAULTS.hopLength;
  let e = env;
  if (options.normalize ?? true) {
    let min = Number.POSITIVE_INFINITY;
    for (const v of env) if (v < min) min = v;
    e = new Float32Array(env.length);
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < env.length; i++) {
      e[i] = env[i] - min;
      if (e[i] > max) max = e[i];
    }
    const den = f32(max + 1.1754943508222875e-38); // util.tiny(float32)
    for (let i = 0; i < e.length; i++) e[i] = e[i] / den;
  }
  let any = false;
  for (const v of e) {
    if (!Number.isFinite(v)) return [];
    if (v !== 0) any = true;
  }
  if (!any) return [];
  return peakPick(e, { ...onsetPeakPickDefaults(sr, hop), ...options.peakPick });
}

/** `librosa.frames_to_time(frames, sr, hop_length)`: int(frame·hop) / sr. */
export function framesToTime(frames: readonly number[], sr = 22050, hopLength = 512): number[] {
  return frames.map((f) => Math.trunc(f * hopLength) / sr);
}
