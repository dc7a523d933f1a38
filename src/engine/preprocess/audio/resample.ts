/**
 * Band-limited resampling with torchaudio 2.2 `torchaudio.functional.resample` defaults
 * (`resampling_method="sinc_interp_hann"`, `lowpass_filter_width=6`, `rolloff=0.99`), used to bring condition
 * audio to ImageBind's 16 kHz (upstream ImageBind `load_and_transform_audio_data`: `torchaudio.load` →
 * `resample(waveform, orig_freq=sr, new_freq=16000)` when `sr != 16000`). SPEC §4.1 (audio condition).
 *
 * torchaudio `_get_sinc_resample_kernel` / `_apply_sinc_resample_kernel`, with the rates reduced by their gcd:
 *   base = min(orig, new)·rolloff;  width = ceil(lpw·orig/base)
 *   kernel[p, j] = sinc(π·t)·cos²(π·t/(2·lpw))·base/orig,  t = clamp((j − width)/orig − p/new, ±lpw/base)·base
 *   (j = 0 … 2·width + orig − 1, p = 0 … new − 1)
 *   y = conv1d(pad(x, [width, width + orig]), kernel, stride = orig) interleaved → first ceil(new·L/orig) samples.
 * The kernel is evaluated in float64 (torchaudio evaluates it in the waveform's dtype, float32: the two differ by
 * float32 rounding, ~1e-7 relative) and the convolution accumulates in float64. Plain arrays: no gradient is
 * needed on this path.
 *
 * Channels are resampled independently and NOT down-mixed: ImageBind's `waveform2melspec` subtracts the mean
 * over all channels of a clip, then `kaldi.fbank(channel=-1)` reads channel `max(-1, 0) = 0` — the first
 * channel. `resampleChannels` keeps every channel so that `audioToImageBindInput` can reproduce both.
 */
import { BadInputError } from "../../errors.js";

export interface ResampleOptions {
  /** Zero crossings of the sinc on each side (torchaudio `lowpass_filter_width`, default 6). */
  lowpassFilterWidth?: number;
  /** Cutoff as a fraction of the lower Nyquist frequency (torchaudio `rolloff`, default 0.99). */
  rolloff?: number;
}

export interface SincResampleKernel {
  /** Rates divided by their gcd. */
  orig: number;
  new: number;
  /** Samples of left context (`width`). */
  width: number;
  /** Taps per phase: 2·width + orig. */
  taps: number;
  /** [new, taps], float64. */
  kernel: Float64Array;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function checkRate(name: string, r: number): void {
  if (!(Number.isInteger(r) && r > 0))
    throw new BadInputError(`resample: ${name} must be a positive integer number of Hz, got ${r}`);
}

/** torchaudio `_get_sinc_resample_kernel` for `sinc_interp_hann`, in float64. */
export function sincResampleKernel(
  origFreq: number,
  newFreq: number,
  opts: ResampleOptions = {},
): SincResampleKernel {
  checkRate("orig_freq", origFreq);
  checkRate("new_freq", newFreq);
  const lpw = opts.lowpassFilterWidth ?? 6;
  const rolloff = opts.rolloff ?? 0.99;
  if (!(lpw > 0)) throw new BadInputError(`resample: lowpass_filter_width must be positive, got ${lpw}`);
  const g = gcd(origFreq, newFreq);
  const orig = origFreq / g;
  const nw = newFreq / g;
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lpw * orig) / base);
  const taps = 2 * width + orig;
  const kernel = new Float64Array(nw * taps);
  const scale = base / orig;
  for (let p = 0; p < nw; p++) {
    for (let j = 0; j < taps; j++) {
      let t = (-p / nw + (j - width) / orig) * base;
      t = Math.min(Math.max(t, -lpw), lpw);
      const c = Math.cos((t * Math.PI) / lpw / 2);
      const window = c * c;
      const tp = t * Math.PI;
      kernel[p * taps + j] = (tp === 0 ? 1 : Math.sin(tp) / tp) * window * scale;
    }
  }
  return { orig, new: nw, width, taps, kernel };
}

/** Output length of torchaudio's resample: ceil(new·L/orig) with the gcd-reduced rates. */
export function resampledLength(length: number, origFreq: number, newFreq: number): number {
  checkRate("orig_freq", origFreq);
  checkRate("new_freq", newFreq);
  if (origFreq === newFreq) return length;
  const g = gcd(origFreq, newFreq);
  const o = origFreq / g;
  const n = newFreq / g;
  // exact integer ceil (Python computes new*length/orig in double; identical for any realistic length)
  return Math.floor((n * length + o - 1) / o);
}

/** `torchaudio.functional.resample(x, orig_freq, new_freq)` of one channel. Identity when the rates agree. */
export function resample(
  x: Float32Array,
  origFreq: number,
  newFreq: number,
  opts: ResampleOptions = {},
): Float32Array {
  checkRate("orig_freq", origFreq);
  checkRate("new_freq", newFreq);
  if (origFreq === newFreq) return x.slice(); // torchaudio returns the input unchanged
  const k = sincResampleKernel(origFreq, newFreq, opts);
  const { orig, width, taps, kernel } = k;
  const nw = k.new;
  const L = x.length;
  const outLen = resampledLength(L, origFreq, newFreq);
  const out = new Float32Array(outLen);
  // padded[i] = x[i − width] for 0 ≤ i − width < L, else 0
  for (let m = 0; m < outLen; m++) {
    const frame = Math.floor(m / nw);
    const p = m - frame * nw;
    const start = frame * orig - width; // index into x of tap 0
    const j0 = Math.max(0, -start);
    const j1 = Math.min(taps, L - start);
    let acc = 0;
    const row = p * taps;
    for (let j = j0; j < j1; j++) acc += kernel[row + j] * x[start + j];
    out[m] = acc;
  }
  return out;
}

export interface MultiChannelAudio {
  /** Channel-major samples `[channels, length]`. */
  data: Float32Array;
  channels: number;
  length: number;
  sampleRate: number;
}

/**
 * Bring decoded audio (one Float32Array per channel, as `torchaudio.load` gives `[C, L]`) to `targetRate`,
 * every channel kept (see the header for why there is no down-mix).
 */
export function resampleChannels(
  channels: readonly Float32Array[],
  sampleRate: number,
  targetRate = 16000,
  opts: ResampleOptions = {},
): MultiChannelAudio {
  if (channels.length === 0) throw new BadInputError("resample: the audio has no channels");
  const L = channels[0].length;
  if (channels.some((c) => c.length !== L)) throw new BadInputError("resample: channels differ in length");
  const outs = channels.map((c) => resample(c, sampleRate, targetRate, opts));
  const length = outs[0].length;
  const data = new Float32Array(outs.length * length);
  for (let i = 0; i < outs.length; i++) data.set(outs[i], i * length);
  return { data, channels: outs.length, length, sampleRate: targetRate };
}
