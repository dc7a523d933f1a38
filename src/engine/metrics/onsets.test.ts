/**
 * librosa 0.10.1 onset port against (a) real librosa outputs recorded by `fixtures/gen_librosa.py`, (b) libsoxr
 * HQ output for the resampling step, and (c) independent references: clicks at known times, hand-made peak_pick
 * cases and the Slaney mel scale's fixed points.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { b64f32, clicks } from "./fixtures/synthetic.js";
import {
  framesToTime,
  hzToMel,
  melFilterbank,
  melToHz,
  onsetDetect,
  onsetPeakPickDefaults,
  onsetStrength,
  peakPick,
} from "./onsets.js";
import { resample } from "./resample.js";

interface LibrosaGoldens {
  librosa: string;
  sr: number;
  cases: { name: string; env: string; frames: number[]; times: number[] }[];
  resample: {
    sr_in: number;
    seed: number;
    times_in: number[];
    soxr: string;
    n_out: number;
    frames: number[];
  }[];
}
const G: LibrosaGoldens = JSON.parse(
  readFileSync(new URL("./fixtures/librosa_goldens.json", import.meta.url), "utf8"),
);

function toneBursts(n: number, sr: number, bursts: [number, number, number][], amp = 0.3): Float32Array {
  const out = new Float64Array(n);
  for (const [f, t0, dur] of bursts) {
    const s0 = Math.trunc(t0 * sr);
    for (let i = s0; i < Math.min(n, s0 + Math.trunc(dur * sr)); i++)
      out[i] += amp * Math.sin((2 * Math.PI * f * i) / sr);
  }
  return Float32Array.from(out);
}

const SR = 22050;
const signals: Record<string, Float32Array> = {
  clicks: clicks(11, 3 * SR, SR, [0.25, 0.8, 1.3, 1.95, 2.5]),
  tones: toneBursts(3 * SR, SR, [
    [440, 0.3, 0.4],
    [1200, 1.0, 0.3],
    [660, 1.7, 0.5],
    [3000, 2.4, 0.2],
  ]),
  silence: new Float32Array(SR),
};

describe("librosa 0.10.1 onset_strength / onset_detect", () => {
  for (const c of G.cases) {
    it(`${c.name}: envelope and onset frames match librosa`, () => {
      const env = onsetStrength(signals[c.name]);
      const want = b64f32(c.env);
      expect(env.length).toBe(want.length);
      let maxRel = 0;
      let peak = 0;
      for (const v of want) peak = Math.max(peak, Math.abs(v));
      for (let i = 0; i < env.length; i++)
        maxRel = Math.max(maxRel, Math.abs(env[i] - want[i]) / Math.max(peak, 1e-30));
      console.log(`${c.name}: max |Δenv| / max env = ${maxRel.toExponential(2)}`);
      expect(maxRel).toBeLessThan(1e-5);
      const frames = onsetDetect(env);
      expect(frames).toEqual(c.frames);
      const times = framesToTime(frames);
      for (const [i, t] of times.entries()) expect(t).toBeCloseTo(c.times[i], 12);
    });
  }

  it("clicks at known times are found within two hops (librosa's centred-frame lag is about one hop)", () => {
    const truth = [0.25, 0.8, 1.3, 1.95, 2.5];
    const times = framesToTime(onsetDetect(onsetStrength(signals.clicks)));
    expect(times.length).toBe(truth.length);
    const errs = times.map((t, i) => t - truth[i]);
    console.log(`click onset errors (s): ${errs.map((e) => e.toFixed(4)).join(", ")}`);
    for (const e of errs) expect(Math.abs(e)).toBeLessThanOrEqual((2 * 512) / SR);
  });

  it("default peak_pick parameters at 22050 Hz are (1, 1, 4, 5, 0.07, 1)", () => {
    expect(onsetPeakPickDefaults(22050, 512)).toEqual({
      preMax: 1,
      postMax: 1,
      preAvg: 4,
      postAvg: 5,
      delta: 0.07,
      wait: 1,
    });
  });
});

describe("peak_pick semantics", () => {
  const P = { preMax: 1, postMax: 1, preAvg: 4, postAvg: 5, delta: 0.07, wait: 1 };
  it("max window is x[n−1 : n+1] (left neighbour and itself), so plateaus keep their first sample", () => {
    const x = Float32Array.from([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(peakPick(x, P)).toEqual([2]);
  });
  it("wait suppresses a peak one frame after another; two frames later is kept", () => {
    const x = Float32Array.from([0, 1, 0.2, 0.9, 0, 0, 0, 0, 0, 0]);
    // n=1 and n=3 are both ≥ left neighbour and above the truncated moving average + delta; 3 > 1 + wait
    expect(peakPick(x, P)).toEqual([1, 3]);
    const y = Float32Array.from([0, 1, 0.95, 0, 0, 0, 0, 0, 0]);
    expect(peakPick(y, { ...P, preMax: 0 })).toEqual([1]); // n = 2 is within wait of 1
  });
  it("the average threshold uses truncated windows at both ends and delta", () => {
    const x = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.55, 0.5, 0.5, 0.5, 0.5]);
    // mean(x[0:9]) ≈ 0.5056: 0.55 < 0.5056 + 0.07 → no peak; with delta 0.04 it is one
    expect(peakPick(x, P)).toEqual([]);
    expect(peakPick(x, { ...P, delta: 0.04 })).toEqual([4]);
  });
  it("zeros are never peaks and an all-zero envelope has no onsets", () => {
    expect(onsetDetect(new Float32Array(50))).toEqual([]);
  });
});

describe("Slaney mel scale and filterbank", () => {
  it("mel ↔ Hz: 1 kHz = 15 mel, 200/3 Hz per mel below, 27 mels per factor 6.4 above", () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 12);
    expect(hzToMel(200)).toBeCloseTo(3, 12);
    expect(hzToMel(6400)).toBeCloseTo(42, 12);
    expect(melToHz(hzToMel(4321))).toBeCloseTo(4321, 8);
  });
  it("Slaney-normalised triangles integrate to ≈ 1 per band (area 2/(f2−f0) · (f2−f0)/2 in Hz)", () => {
    const sr = 22050;
    const nFft = 2048;
    const w = melFilterbank(sr, nFft, 128);
    const nBins = 1 + nFft / 2;
    for (const m of [20, 60, 100, 127]) {
      let area = 0;
      for (let k = 0; k < nBins; k++) area += w[m * nBins + k] * (sr / nFft);
      expect(area).toBeGreaterThan(0.9);
      expect(area).toBeLessThan(1.1);
    }
  });
});

describe("resampling for librosa.load (deviation: own Kaiser sinc instead of soxr HQ)", () => {
  for (const r of G.resample) {
    it(`${r.sr_in} Hz → 22050 Hz: close to soxr HQ, and librosa onsets on it are soxr's`, () => {
      const y = clicks(r.seed, 2 * r.sr_in, r.sr_in, r.times_in);
      const t0 = performance.now();
      const yr = resample(y, r.sr_in, SR);
      const ms = performance.now() - t0;
      expect(yr.length).toBe(r.n_out);
      const want = b64f32(r.soxr);
      let err = 0;
      let ref = 0;
      for (let i = 0; i < want.length; i++) {
        err += (yr[i] - want[i]) ** 2;
        ref += want[i] ** 2;
      }
      const relDb = 10 * Math.log10(err / ref);
      console.log(
        `${r.sr_in}→22050: ${yr.length} samples in ${ms.toFixed(0)} ms, error vs soxr ${relDb.toFixed(1)} dB`,
      );
      expect(relDb).toBeLessThan(-45); // white noise: the transition bands (0.91–1.0 Nyquist) differ in shape
      expect(onsetDetect(onsetStrength(yr))).toEqual(r.frames);
    });
  }

  it("passes an in-band tone and rejects an out-of-band one", () => {
    const srIn = 44100;
    const n = srIn;
    const tone = (f: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / srIn));
    const a = resample(tone(3000), srIn, SR);
    let maxErr = 0;
    for (let k = 2000; k < a.length - 2000; k++)
      maxErr = Math.max(maxErr, Math.abs(a[k] - Math.sin((2 * Math.PI * 3000 * k) / SR)));
    expect(maxErr).toBeLessThan(1e-4);
    const b = resample(tone(15000), srIn, SR); // above the 11025 Hz output Nyquist
    let rms = 0;
    for (let k = 2000; k < b.length - 2000; k++) rms += b[k] ** 2;
    rms = Math.sqrt(rms / (b.length - 4000));
    console.log(
      `3 kHz max error ${maxErr.toExponential(2)}; 15 kHz leak ${(20 * Math.log10(rms)).toFixed(1)} dBFS`,
    );
    expect(rms).toBeLessThan(1e-5);
  });
});
