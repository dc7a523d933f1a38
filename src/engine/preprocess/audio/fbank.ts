/**
 * Kaldi-compatible log-mel filterbank, as torchaudio 2.2 `compliance.kaldi.fbank` computes it with the
 * arguments ImageBind passes (SPEC §3.7 step 3, §7.3): dither 0, 25 ms / 10 ms frames with `snip_edges`,
 * per-frame DC removal, pre-emphasis 0.97 (replicate at the frame start), symmetric Hann window, zero-pad to
 * the next power of two, power spectrum, kaldi mel banks (Nyquist column zeroed), log with a float32-epsilon
 * floor. `use_energy=False`, `htk_compat=True` (no energy column), `subtract_mean=False`, `vtln_warp=1`.
 *
 * Written once against `Ops<T>` and differentiable: the guidance loss backpropagates through it (SPEC §3.4).
 * tfjs has no gradient for rfft (DESIGN.md pitfalls), so everything between the waveform and the power
 * spectrum — framing, DC removal, pre-emphasis, window, zero padding and the real DFT — is linear in the frame
 * and is folded into ONE constant matrix `K [window, 2·bins]` (computed in float64, stored float32):
 *
 *   y   = frames @ K                          [F, 512]   (= [Re X_0..255 | Im X_0..255])
 *   E   = (y ∘ y) @ [Mᵀ; Mᵀ]                  [F, 128]   (|X_k|² summed into mel bins)
 *   out = log(max(E, ε))                      ε = torch.finfo(float32).eps
 *
 * Framing without a gather: frame f covers samples [160f, 160f + 400), i.e. hop-sized blocks f, f+1 and the
 * first 80 samples of f+2. With the clip reshaped to blocks B [nb, 160] and K split into hop-sized row chunks
 * K_c (the last one zero-padded), `frames @ K = Σ_c B[c : c+F] @ K_c` — three matmuls over slices. (A gather
 * with an int32 index table would be the literal framing, but tfjs-backend-cpu implements gather's gradient,
 * UnsortedSegmentSum, as one masked full reduction per segment: O(samples × frames·400), minutes for 1 s.)
 *
 * The Nyquist bin (k = 256) is dropped: torchaudio pads the mel matrix with a zero column for it.
 */
import { BadInputError } from "../../errors.js";
import type { Ops } from "../../ops/ops.js";

export interface KaldiFbankConfig {
  /** Hz (`sample_frequency`). */
  sampleFrequency: number;
  /** ms (`frame_length`). */
  frameLength: number;
  /** ms (`frame_shift`). */
  frameShift: number;
  numMelBins: number;
  /** Hz (`low_freq`). */
  lowFreq: number;
  /** Hz; ≤ 0 means offset from Nyquist (`high_freq`, kaldi convention). */
  highFreq: number;
  preemphasisCoefficient: number;
}

/** `waveform2melspec` in ImageBind's data.py (and the vendored S&H copy): torchaudio defaults otherwise. */
export const IMAGEBIND_FBANK: Readonly<KaldiFbankConfig> = Object.freeze({
  sampleFrequency: 16000,
  frameLength: 25,
  frameShift: 10,
  numMelBins: 128,
  lowFreq: 20,
  highFreq: 0,
  preemphasisCoefficient: 0.97,
});

/** torch.finfo(torch.float32).eps — torchaudio `_get_epsilon`, whatever the waveform dtype. */
export const FBANK_LOG_FLOOR = 2 ** -23;

export interface FbankTables {
  readonly config: Readonly<KaldiFbankConfig>;
  /** Samples per frame (`window_size`, 400). */
  readonly windowSize: number;
  /** Hop (`window_shift`, 160). */
  readonly windowShift: number;
  /** FFT length (`padded_window_size`, 512). */
  readonly paddedSize: number;
  /** Bins kept from the rfft: 0 … paddedSize/2 − 1 (the Nyquist bin has zero mel weight). */
  readonly bins: number;
  /** [windowSize, 2·bins]: DC removal ∘ pre-emphasis ∘ window ∘ (cos | sin) DFT, float32. */
  readonly frameOperator: Float32Array;
  /** `frameOperator` split into ceil(window/shift) row chunks of `windowShift` rows (last one zero-padded). */
  readonly frameChunks: readonly Float32Array[];
  /** [2·bins, numMelBins]: the kaldi mel matrix transposed, stacked twice (for Re² and Im²). */
  readonly melOperator: Float32Array;
  /** [numMelBins, bins]: the mel banks as torchaudio `get_mel_banks` returns them (without the Nyquist pad). */
  readonly melBanks: Float32Array;
}

const f32 = Math.fround;

/** torchaudio `_next_power_of_2`: 1 if x == 0 else 2 ** (x − 1).bit_length(). */
function nextPowerOf2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

function melScaleScalar(f: number): number {
  return 1127.0 * Math.log(1.0 + f / 700.0);
}

/**
 * torchaudio `get_mel_banks(num_bins, padded, sample_freq, low_freq, high_freq, …, vtln_warp=1)`, evaluated in
 * float32 as torchaudio does (its tensors use the default dtype, float32: `torch.arange(num_bins) * delta` etc.;
 * the scalar mel edges are Python doubles). Every tensor op is rounded with `Math.fround`.
 */
export function kaldiMelBanks(
  numBins: number,
  paddedSize: number,
  sampleFreq: number,
  lowFreq: number,
  highFreq: number,
): Float32Array {
  if (numBins <= 3) throw new BadInputError(`kaldi fbank: need more than 3 mel bins, got ${numBins}`);
  const numFftBins = paddedSize / 2;
  const nyquist = 0.5 * sampleFreq;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < nyquist && high > 0 && high <= nyquist && lowFreq < high))
    throw new BadInputError(
      `kaldi fbank: bad mel range low=${lowFreq} high=${highFreq} (nyquist ${nyquist})`,
    );
  const fftBinWidth = sampleFreq / paddedSize;
  const melLow = melScaleScalar(lowFreq);
  const melHigh = melScaleScalar(high);
  const delta = (melHigh - melLow) / (numBins + 1);
  const dF = f32(delta);
  const lowF = f32(melLow);
  // mel = 1127 · log(1 + (fft_bin_width · arange(num_fft_bins)) / 700), float32 tensor ops
  const mel = new Float64Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) {
    const freq = f32(f32(fftBinWidth) * k);
    mel[k] = f32(f32(1127.0) * f32(Math.log(f32(1.0 + f32(freq / f32(700.0))))));
  }
  const out = new Float32Array(numBins * numFftBins);
  for (let b = 0; b < numBins; b++) {
    const left = f32(lowF + f32(b * dF));
    const center = f32(lowF + f32((b + 1) * dF));
    const right = f32(lowF + f32((b + 2) * dF));
    for (let k = 0; k < numFftBins; k++) {
      const up = f32(f32(mel[k] - left) / f32(center - left));
      const down = f32(f32(right - mel[k]) / f32(right - center));
      out[b * numFftBins + k] = Math.max(0, Math.min(up, down));
    }
  }
  return out;
}

const tableCache = new Map<string, FbankTables>();

/** The constant tables of one fbank configuration, computed once (float64 → float32) and memoised. */
export function fbankTables(config: Readonly<KaldiFbankConfig> = IMAGEBIND_FBANK): FbankTables {
  const key = JSON.stringify(config);
  const hit = tableCache.get(key);
  if (hit) return hit;
  const sf = config.sampleFrequency;
  // torchaudio `_get_waveform_and_window_properties` (MILLISECONDS_TO_SECONDS = 0.001, int() truncation)
  const windowShift = Math.trunc(sf * config.frameShift * 0.001);
  const windowSize = Math.trunc(sf * config.frameLength * 0.001);
  if (windowSize < 2 || windowShift < 1)
    throw new BadInputError(`kaldi fbank: frame length/shift too small for ${sf} Hz`);
  const paddedSize = nextPowerOf2(windowSize); // round_to_power_of_two=True
  const bins = paddedSize / 2;
  const N = windowSize;

  // torch.hann_window(N, periodic=False): 0.5 − 0.5·cos(2πn/(N−1))
  const win = new Float64Array(N);
  for (let n = 0; n < N; n++) win[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (N - 1));

  // H = diag(w) · [cos | sin] (the DFT of the windowed, zero-padded frame; angles reduced mod paddedSize)
  const cols = 2 * bins;
  const H = new Float64Array(N * cols);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < bins; k++) {
      const phase = (2 * Math.PI * ((n * k) % paddedSize)) / paddedSize;
      H[n * cols + k] = win[n] * Math.cos(phase);
      H[n * cols + bins + k] = -win[n] * Math.sin(phase);
    }
  }
  // G = P · H with pre-emphasis y[0] = (1−c)·x[0], y[j] = x[j] − c·x[j−1]  (replicate pad at the frame start)
  const c = config.preemphasisCoefficient;
  const G = new Float64Array(N * cols);
  for (let j = 0; j < N; j++) {
    const self = j === 0 ? 1 - c : 1;
    for (let k = 0; k < cols; k++) {
      G[j * cols + k] = self * H[j * cols + k] - (j + 1 < N ? c * H[(j + 1) * cols + k] : 0);
    }
  }
  // K = C · G with C = I − 11ᵀ/N (remove_dc_offset: subtract each frame's mean)
  const colMean = new Float64Array(cols);
  for (let j = 0; j < N; j++) for (let k = 0; k < cols; k++) colMean[k] += G[j * cols + k];
  for (let k = 0; k < cols; k++) colMean[k] /= N;
  const frameOperator = new Float32Array(N * cols);
  for (let j = 0; j < N; j++)
    for (let k = 0; k < cols; k++) frameOperator[j * cols + k] = G[j * cols + k] - colMean[k];

  const frameChunks: Float32Array[] = [];
  for (let r0 = 0; r0 < N; r0 += windowShift) {
    const chunk = new Float32Array(windowShift * cols);
    chunk.set(frameOperator.subarray(r0 * cols, Math.min(r0 + windowShift, N) * cols));
    frameChunks.push(chunk);
  }

  const nMel = config.numMelBins;
  const melBanks = kaldiMelBanks(nMel, paddedSize, sf, config.lowFreq, config.highFreq);
  const melOperator = new Float32Array(cols * nMel);
  for (let k = 0; k < bins; k++)
    for (let m = 0; m < nMel; m++) {
      const w = melBanks[m * bins + k];
      melOperator[k * nMel + m] = w;
      melOperator[(bins + k) * nMel + m] = w;
    }

  const tables: FbankTables = Object.freeze({
    config: Object.freeze({ ...config }),
    windowSize,
    windowShift,
    paddedSize,
    bins,
    frameOperator,
    frameChunks: Object.freeze(frameChunks),
    melOperator,
    melBanks,
  });
  tableCache.set(key, tables);
  return tables;
}

/** Frames of a segment of `n` samples with `snip_edges=True`: 1 + (n − window)//shift (0 if shorter). */
export function numFrames(n: number, tables: FbankTables = fbankTables()): number {
  return n < tables.windowSize ? 0 : 1 + Math.floor((n - tables.windowSize) / tables.windowShift);
}

/**
 * Log-mel fbank of a batch of equal-length clips `[B, n]` → `[B, F, numMelBins]`, F = `numFrames(n)`.
 * Differentiable; only slices, reshapes, matmuls and elementwise ops (see the header for the framing).
 */
export function fbankOfClips<T>(ops: Ops<T>, clips: T, tables: FbankTables = fbankTables()): T {
  const shape = ops.shape(clips);
  if (shape.length !== 2) throw new RangeError(`fbank expects clips [batch, samples], got [${shape}]`);
  const [batch, n] = shape;
  if (n < tables.windowSize)
    throw new BadInputError(
      `kaldi fbank: a clip of ${n} samples is shorter than one ${tables.windowSize}-sample frame; use longer audio`,
      { samples: n, frame: tables.windowSize },
    );
  const hop = tables.windowShift;
  const chunks = tables.frameChunks.length;
  const nf = numFrames(n, tables);
  const nb = nf + chunks - 1; // blocks touched by the frames
  let x = clips;
  if (nb * hop > n)
    x = ops.pad(x, [
      [0, 0],
      [0, nb * hop - n],
    ]); // only ever multiplied by the zero rows of the last chunk
  else if (nb * hop < n) x = ops.slice(x, 1, 0, nb * hop);
  const blocks = ops.reshape(x, [batch, nb, hop]);
  const cols = 2 * tables.bins;
  let y: T | null = null;
  for (let c = 0; c < chunks; c++) {
    const part = ops.matmul(
      ops.slice(blocks, 1, c, c + nf),
      ops.constant(tables.frameChunks[c], [hop, cols]),
    );
    y = y === null ? part : ops.add(y, part);
  }
  const M = ops.constant(tables.melOperator, [cols, tables.config.numMelBins]);
  const energy = ops.matmul(ops.mul(y!, y!), M); // |X_k|² summed into mel bins
  return ops.log(ops.maximum(energy, FBANK_LOG_FLOOR));
}

/**
 * torchaudio `kaldi.fbank(x, htk_compat=True, use_energy=False, window_type="hanning", dither=0, …)` of one
 * channel `x [n]` (or `[C, n]`: channel 0, as torchaudio's `channel=-1` → `max(channel, 0)` picks)
 * → `[frames, numMelBins]`.
 */
export function kaldiFbank<T>(ops: Ops<T>, x: T, config: Readonly<KaldiFbankConfig> = IMAGEBIND_FBANK): T {
  const shape = ops.shape(x);
  let clip: T;
  if (shape.length === 2) clip = ops.slice(x, 0, 0, 1);
  else if (shape.length === 1) clip = ops.reshape(x, [1, shape[0]]);
  else throw new RangeError(`kaldiFbank expects [n] or [channels, n], got [${shape}]`);
  const tables = fbankTables(config);
  const y = fbankOfClips(ops, clip, tables);
  const [, nf, nMel] = ops.shape(y);
  return ops.reshape(y, [nf, nMel]);
}
