/**
 * A small float64 FFT for the metrics' spectrograms (librosa's `stft` uses numpy's pocketfft, also float64
 * internally). Power-of-two sizes only: every spectrogram here uses n_fft = 2048.
 */
import { BadInputError } from "../errors.js";

/** Precomputed bit reversal and twiddles for one size. */
export class Fft {
  readonly n: number;
  private readonly rev: Uint32Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(n: number) {
    if (n < 1 || (n & (n - 1)) !== 0) throw new BadInputError(`FFT size must be a power of two, got ${n}.`);
    this.n = n;
    const bits = Math.round(Math.log2(n));
    this.rev = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.cos = new Float64Array(n >> 1);
    this.sin = new Float64Array(n >> 1);
    for (let i = 0; i < n >> 1; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / n);
      this.sin[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    this.re = new Float64Array(n);
    this.im = new Float64Array(n);
  }

  /**
   * |rfft(x)|² for a real frame of length n into `out` (length n/2 + 1), computed in float64. With `complex64`,
   * rounds as numpy does for a complex64 spectrum: re, im → float32, |·| in float32, squared in float32.
   */
  powerSpectrum(x: ArrayLike<number>, out: Float64Array, complex64 = false): void {
    const { n, rev, re, im } = this;
    for (let i = 0; i < n; i++) {
      re[rev[i]] = x[i];
      im[rev[i]] = 0;
    }
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const c = this.cos[k * step];
          const s = this.sin[k * step];
          const a = start + k;
          const b = a + half;
          const tr = re[b] * c - im[b] * s;
          const ti = re[b] * s + im[b] * c;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
    if (complex64) {
      const f32 = Math.fround;
      for (let k = 0; k <= n >> 1; k++) {
        const a = f32(Math.hypot(f32(re[k]), f32(im[k])));
        out[k] = f32(a * a);
      }
    } else for (let k = 0; k <= n >> 1; k++) out[k] = re[k] * re[k] + im[k] * im[k];
  }
}
