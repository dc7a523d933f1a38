/**
 * torchaudio-default resampling against an independent float64 reference: a sum of sinusoids below the cutoff,
 * evaluated analytically at the output sample times. The windowed sinc (6 zero crossings, Hann) is flat to
 * ~5e-4 up to 40 % of the lower Nyquist band, so away from the zero-padded edges the output must equal the
 * analytic signal to ~1e-3. Plus torchaudio's length rule and identity rule.
 */
import { describe, expect, it } from "vitest";
import { BadInputError } from "../../errors.js";
import { resample, resampleChannels, resampledLength, sincResampleKernel } from "./resample.js";

function tones(rate: number, n: number, freqs: readonly number[], phases: readonly number[]): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    let v = 0;
    for (let k = 0; k < freqs.length; k++)
      v += (0.9 / freqs.length) * Math.sin(2 * Math.PI * freqs[k] * t + phases[k]);
    out[i] = v;
  }
  return out;
}

describe("resample (torchaudio.functional.resample, sinc_interp_hann, width 6, rolloff 0.99)", () => {
  const cases: [number, number][] = [
    [44100, 16000],
    [48000, 16000],
    [22050, 16000],
    [8000, 16000],
    [32000, 16000],
    [11025, 16000],
  ];
  for (const [orig, target] of cases) {
    it(`${orig} Hz → ${target} Hz equals the analytic band-limited signal`, () => {
      const band = 0.2 * Math.min(orig, target); // ≤ 40 % of the lower Nyquist frequency
      const freqs = [0.11 * band, 0.47 * band, 0.83 * band, band];
      const phases = [0.3, 1.7, 2.9, 4.4];
      const n = Math.round(orig * 1.5) + 7;
      const x = Float32Array.from(tones(orig, n, freqs, phases));
      const y = resample(x, orig, target);
      expect(y.length).toBe(Math.ceil((target * n) / orig));
      const ref = tones(target, y.length, freqs, phases);
      // skip the edges, where torchaudio's zero padding truncates the sinc (width/orig seconds + margin)
      const { width, orig: o } = sincResampleKernel(orig, target);
      const edge = Math.ceil(((width + 2 * o) / orig) * target * 8);
      let worst = 0;
      for (let m = edge; m < y.length - edge; m++) worst = Math.max(worst, Math.abs(y[m] - ref[m]));
      expect(worst).toBeLessThan(1.5e-3);
    });
  }

  it("length rule ceil(new·L/orig) with gcd-reduced rates; identity when the rates agree", () => {
    expect(resampledLength(44100, 44100, 16000)).toBe(16000);
    expect(resampledLength(44101, 44100, 16000)).toBe(16001);
    expect(resampledLength(3, 48000, 16000)).toBe(1);
    expect(resampledLength(4, 48000, 16000)).toBe(2);
    expect(resampledLength(1001, 8000, 16000)).toBe(2002);
    for (const L of [1, 2, 99, 1234, 44099, 160032])
      expect(resample(new Float32Array(L), 44100, 16000).length).toBe(Math.ceil((16000 * L) / 44100));
    const x = Float32Array.from([1, 2, 3]);
    const y = resample(x, 16000, 16000);
    expect([...y]).toEqual([1, 2, 3]);
    expect(y).not.toBe(x);
  });

  it("kernel geometry follows torchaudio (width = ceil(6·orig/(0.99·min)))", () => {
    const k = sincResampleKernel(44100, 16000);
    expect([k.orig, k.new, k.width, k.taps]).toEqual([441, 160, 17, 2 * 17 + 441]);
    const k2 = sincResampleKernel(48000, 16000);
    expect([k2.orig, k2.new, k2.width]).toEqual([3, 1, 19]);
  });

  it("channels are resampled independently and kept (no down-mix)", () => {
    const a = Float32Array.from(tones(44100, 4410, [300], [0]));
    const b = Float32Array.from(tones(44100, 4410, [700], [1]));
    const r = resampleChannels([a, b], 44100);
    expect([r.channels, r.length, r.sampleRate]).toEqual([2, 1600, 16000]);
    expect([...r.data.subarray(0, 1600)]).toEqual([...resample(a, 44100, 16000)]);
    expect([...r.data.subarray(1600)]).toEqual([...resample(b, 44100, 16000)]);
  });

  it("rejects non-integer or non-positive rates", () => {
    expect(() => resample(new Float32Array(4), 44100.5, 16000)).toThrow(BadInputError);
    expect(() => resample(new Float32Array(4), 0, 16000)).toThrow(BadInputError);
  });
});
