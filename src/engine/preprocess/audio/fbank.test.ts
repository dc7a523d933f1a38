/**
 * The standalone Kaldi fbank against an independent float64 reference written here from torchaudio's
 * `kaldi.py` step by step (strided frames, per-frame mean, replicate pre-emphasis, symmetric Hann, zero-pad,
 * direct DFT, float64 kaldi mel banks, log floor), on both executors; plus its gradient against central finite
 * differences. The fixture-level checks (outputs and gradients of the whole chain) are in imagebind_audio.test.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as ortNode from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { relL2 } from "../../../../test/support/golden.js";
import { randn } from "../../../../test/support/naive.js";
import { BadInputError } from "../../errors.js";
import { OnnxEmitter, type Sym } from "../../ops/onnx/emitter.js";
import { createSession, type OrtModule, runSession } from "../../ops/onnx/session.js";
import { TfjsOps, valueAndGrads } from "../../ops/tfjs.js";
import { FBANK_LOG_FLOOR, fbankTables, IMAGEBIND_FBANK, kaldiFbank, numFrames } from "./fbank.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** torchaudio kaldi `get_mel_banks` in float64 (the formula, not torchaudio's float32 evaluation). */
function melBanks64(nMel: number, nfft: number, sr: number, lowF: number): Float64Array {
  const mel = (f: number) => 1127 * Math.log(1 + f / 700);
  const lo = mel(lowF);
  const hi = mel(sr / 2);
  const d = (hi - lo) / (nMel + 1);
  const bins = nfft / 2;
  const out = new Float64Array(nMel * bins);
  for (let m = 0; m < nMel; m++)
    for (let k = 0; k < bins; k++) {
      const v = mel((k * sr) / nfft);
      const l = lo + m * d;
      const c = lo + (m + 1) * d;
      const r = lo + (m + 2) * d;
      out[m * bins + k] = Math.max(0, Math.min((v - l) / (c - l), (r - v) / (r - c)));
    }
  return out;
}

/** Literal float64 torchaudio kaldi.fbank with ImageBind's arguments → [frames, nMel]. */
function naiveFbank(x: ArrayLike<number>): { data: Float64Array; frames: number } {
  const W = 400;
  const H = 160;
  const N = 512;
  const nMel = 128;
  const nf = 1 + Math.floor((x.length - W) / H);
  const banks = melBanks64(nMel, N, 16000, 20);
  const out = new Float64Array(nf * nMel);
  const re = new Float64Array(N / 2 + 1);
  const im = new Float64Array(N / 2 + 1);
  for (let f = 0; f < nf; f++) {
    const fr = new Float64Array(N);
    let mu = 0;
    for (let j = 0; j < W; j++) mu += x[f * H + j];
    mu /= W;
    const d = Array.from({ length: W }, (_, j) => x[f * H + j] - mu);
    for (let j = 0; j < W; j++) {
      const pre = d[j] - 0.97 * d[Math.max(j - 1, 0)];
      fr[j] = pre * (0.5 - 0.5 * Math.cos((2 * Math.PI * j) / (W - 1)));
    }
    for (let k = 0; k <= N / 2; k++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < W; j++) {
        const ph = (2 * Math.PI * ((j * k) % N)) / N;
        a += fr[j] * Math.cos(ph);
        b -= fr[j] * Math.sin(ph);
      }
      re[k] = a;
      im[k] = b;
    }
    for (let m = 0; m < nMel; m++) {
      let e = 0;
      for (let k = 0; k < N / 2; k++) e += banks[m * (N / 2) + k] * (re[k] * re[k] + im[k] * im[k]);
      // the Nyquist bin k = N/2 has weight 0 (torchaudio pads the mel matrix with a zero column)
      out[f * nMel + m] = Math.log(Math.max(e, FBANK_LOG_FLOOR));
    }
  }
  return { data: out, frames: nf };
}

async function tfFbank(x: Float32Array): Promise<{ data: Float32Array; shape: number[] }> {
  const ops = new TfjsOps();
  const y = tf.tidy(() => kaldiFbank(ops, tf.tensor(x, [x.length])));
  const data = Float32Array.from(await y.data());
  const shape = [...y.shape];
  y.dispose();
  ops.dispose();
  return { data, shape };
}

describe("kaldi fbank (torchaudio 2.2 semantics, ImageBind arguments)", () => {
  it("frame geometry: 400/160 snip_edges, 512-point FFT", () => {
    const t = fbankTables();
    expect([t.windowSize, t.windowShift, t.paddedSize, t.bins]).toEqual([400, 160, 512, 256]);
    expect(numFrames(16000)).toBe(98); // SPEC §3.7 step 3
    expect(numFrames(399)).toBe(0);
    expect(t.frameChunks.length).toBe(3);
  });

  it("mel banks equal the float64 kaldi formula to float32 precision; all-zero low filters exist", () => {
    const t = fbankTables();
    const ref = melBanks64(128, 512, 16000, 20);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(t.melBanks[i] - ref[i]));
    expect(worst).toBeLessThan(1e-4); // torchaudio evaluates the banks in float32 (mel ≈ 2800 ± 2e-4)
    const emptyRows = Array.from({ length: 128 }, (_, m) =>
      t.melBanks.subarray(m * 256, (m + 1) * 256).every((v) => v === 0),
    ).filter(Boolean).length;
    expect(emptyRows).toBeGreaterThan(0); // fixture quirk: filters with no FFT bin → log(eps)
  });

  it("matches the literal float64 reference (tfjs), for a 1 s clip and an odd length", async () => {
    for (const [n, seed] of [
      [16000, 11],
      [5003, 12],
    ]) {
      const x = randn(n, seed, 0.1);
      const ref = naiveFbank(x);
      const got = await tfFbank(x);
      expect(got.shape).toEqual([ref.frames, 128]);
      const e = relL2(got.data, ref.data);
      expect(e.rel).toBeLessThan(2e-6);
      expect(e.worst).toBeLessThan(2e-3); // log-domain, incl. the tiniest mel energies
    }
  });

  it("ONNX emitter + onnxruntime-node equals tfjs", async () => {
    const x = randn(16000, 13, 0.1);
    const em = new OnnxEmitter();
    em.output("fbank", kaldiFbank<Sym>(em, em.input("x", [16000])));
    const ort = ortNode as unknown as OrtModule;
    const session = await createSession(ort, em.build());
    const res = await runSession(ort, session, { x: { data: x, shape: [16000] } });
    await session.release();
    const tfv = await tfFbank(x);
    expect(res.fbank.shape).toEqual(tfv.shape);
    expect(relL2(res.fbank.data, tfv.data).rel).toBeLessThan(1e-6);
  });

  it("takes channel 0 of a [C, n] input (torchaudio channel=-1 → 0)", async () => {
    const a = randn(2000, 21, 0.1);
    const b = randn(2000, 22, 0.1);
    const ops = new TfjsOps();
    const both = new Float32Array(4000);
    both.set(a, 0);
    both.set(b, 2000);
    const y2 = await tf.tidy(() => kaldiFbank(ops, tf.tensor(both, [2, 2000]))).data();
    const y1 = (await tfFbank(a)).data;
    expect(relL2(y2, y1).rel).toBe(0);
    ops.dispose();
  });

  it("gradient matches central finite differences (float64 reference)", async () => {
    const n = 1200;
    const x = randn(n, 31, 0.1);
    const probe = randn(numFrames(n) * 128, 32);
    const loss = (v: Float64Array) => {
      const { data } = naiveFbank(v);
      let s = 0;
      for (let i = 0; i < data.length; i++) s += data[i] * probe[i];
      return s;
    };
    const ops = new TfjsOps();
    const xt = tf.tensor(x, [n]);
    const pt = tf.tensor(probe, [numFrames(n), 128]);
    const { grads } = valueAndGrads((w) => tf.sum(tf.mul(kaldiFbank(ops, w), pt)), [xt]);
    const g = await grads[0].data();
    const h = 1e-3;
    let num = 0;
    let den = 0;
    for (const i of [0, 1, 7, 161, 399, 400, 555, 800, 1199]) {
      const xp = Float64Array.from(x);
      const xm = Float64Array.from(x);
      xp[i] += h;
      xm[i] -= h;
      const fd = (loss(xp) - loss(xm)) / (2 * h);
      num += (fd - g[i]) ** 2;
      den += fd * fd;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-3);
    ops.dispose();
  });

  it("rejects a clip shorter than one frame", () => {
    const ops = new TfjsOps();
    expect(() => kaldiFbank(ops, tf.zeros([399]))).toThrow(BadInputError);
    ops.dispose();
  });

  it("defaults are ImageBind's waveform2melspec arguments", () => {
    expect(IMAGEBIND_FBANK).toMatchObject({
      sampleFrequency: 16000,
      numMelBins: 128,
      frameLength: 25,
      frameShift: 10,
    });
  });
});
