/**
 * The waveform → clips → Kaldi fbank → [1, S, 1, 128, 204] chain against the official code's goldens
 * (`fbank_*` family and `imagebind_chain`'s `out.audio_input`): outputs, the in-place side effect and the
 * gradient w.r.t. the waveform through the tfjs executor; outputs through the ONNX emitter + onnxruntime-node.
 * Every number (clip count, ranges, tolerances) is read from the fixture; none is copied here.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as ortNode from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Fixture,
  hasGolden,
  listFixtures,
  loadFixture,
  relL2,
  tolerance,
} from "../../../../test/support/golden.js";
import { randn } from "../../../../test/support/naive.js";
import { OnnxEmitter, type Sym } from "../../ops/onnx/emitter.js";
import { createSession, type OrtModule, runSession } from "../../ops/onnx/session.js";
import { TfjsOps, valueAndGrads } from "../../ops/tfjs.js";
import { constantClipsPerVideo } from "./clip_sampler.js";
import {
  audioToImageBindInput,
  audioToImageBindInputWithSideEffect,
  imagebindAudioClipRanges,
} from "./imagebind_audio.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Max |Δ| on normalised values the fixture note asks for in addition to rel-L2. */
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function noteMaxAbs(fx: Fixture): number | null {
  const note = fx.meta.suggested_tol_note;
  const m = typeof note === "string" ? note.match(/max-abs <= ([\d.e-]+)/) : null;
  return m ? Number(m[1]) : null;
}

interface ChainCase {
  fx: Fixture;
  S: number;
  wav: Float32Array;
  wavShape: number[];
  outKey: string;
}

function chainCase(name: string): ChainCase {
  const fx = loadFixture(name);
  const io = fx.io!;
  const outKey = io.has("out.fbank") ? "out.fbank" : "out.audio_input";
  return {
    fx,
    S: io.shape(outKey)[1],
    wav: io.float("in.waveform"),
    wavShape: io.shape("in.waveform"),
    outKey,
  };
}

const report: string[] = [];

describe.skipIf(!hasGolden())("ImageBind audio chain vs the official goldens", () => {
  const fbankNames = hasGolden() ? listFixtures().filter((n) => n.startsWith("fbank_")) : [];

  it("finds the fbank fixture family", () => {
    expect(fbankNames.length).toBeGreaterThan(0);
  });

  for (const name of fbankNames) {
    it(`${name}: clip sampler reproduces the recorded ranges and exact Fraction times`, () => {
      const { fx, S, wavShape } = chainCase(name);
      const ranges = imagebindAudioClipRanges(wavShape[1], S);
      const rec = fx.io!.get("out.clip_ranges");
      expect(ranges.flatMap((r) => [r.start, r.end])).toEqual([...rec]);
      const times = fx.meta.clip_times_exact_fraction as [string, string][] | undefined;
      if (times) {
        const clips = constantClipsPerVideo(wavShape[1] / 16000, 1, S);
        expect(clips.map((c) => [c.start.toString(), c.end.toString()])).toEqual(times);
      }
    });

    it(`${name}: tfjs forward, in-place side effect and ∂/∂waveform`, async () => {
      const { fx, S, wav, wavShape, outKey } = chainCase(name);
      const io = fx.io!;
      const ops = new TfjsOps();
      const t0 = performance.now();
      const x = tf.tensor(wav, wavShape);
      const res = audioToImageBindInputWithSideEffect(ops, x, S);
      const out = Float32Array.from(await res.input.data());
      const after = Float32Array.from(await res.waveformAfter.data());
      const t1 = performance.now();
      expect(res.input.shape).toEqual(io.shape(outKey));
      const probe = tf.tensor(io.float("in.probe"), io.shape("in.probe"));
      const { value, grads } = valueAndGrads(
        (w) => tf.sum(tf.mul(audioToImageBindInput(ops, w, S), probe)),
        [x],
      );
      const grad = Float32Array.from(await grads[0].data());
      const t2 = performance.now();

      const eOut = relL2(out, io.float(outKey));
      const eAfter = relL2(after, io.float("out.waveform_after"));
      const eGrad = relL2(grad, io.float("grad.waveform"));
      const abs = maxAbs(out, io.float(outKey));
      report.push(
        `${name} tfjs: fbank ${eOut.rel.toExponential(2)} (tol ${tolerance(fx, outKey)}, max|Δ| ${abs.toExponential(2)}), ` +
          `waveform_after ${eAfter.rel.toExponential(2)} (tol ${tolerance(fx, "out.waveform_after")}), ` +
          `grad ${eGrad.rel.toExponential(2)} (tol ${tolerance(fx, "grad.waveform")}); ` +
          `forward ${(t1 - t0).toFixed(0)} ms, value+grad ${(t2 - t1).toFixed(0)} ms`,
      );
      expect(eOut.rel).toBeLessThanOrEqual(tolerance(fx, outKey));
      const capAbs = noteMaxAbs(fx);
      if (capAbs !== null) expect(abs).toBeLessThanOrEqual(capAbs);
      expect(eAfter.rel).toBeLessThanOrEqual(tolerance(fx, "out.waveform_after"));
      expect(eGrad.rel).toBeLessThanOrEqual(tolerance(fx, "grad.waveform"));
      tf.dispose([x, probe, value, ...grads, res.input, res.waveformAfter]);
      ops.dispose();
    });

    it(`${name}: ONNX emitter + onnxruntime-node forward`, async () => {
      const { fx, S, wav, wavShape, outKey } = chainCase(name);
      const io = fx.io!;
      const em = new OnnxEmitter();
      const x = em.input("waveform", wavShape);
      const y = audioToImageBindInput<Sym>(em, x, S);
      em.output("input", y);
      const built = em.build();
      const ort = ortNode as unknown as OrtModule;
      const session = await createSession(ort, built);
      const t0 = performance.now();
      const res = await runSession(ort, session, { waveform: { data: wav, shape: wavShape } });
      const t1 = performance.now();
      await session.release();
      expect(res.input.shape).toEqual(io.shape(outKey));
      const e = relL2(res.input.data, io.float(outKey));
      report.push(
        `${name} onnx: fbank ${e.rel.toExponential(2)} (tol ${tolerance(fx, outKey)}); run ${(t1 - t0).toFixed(0)} ms`,
      );
      expect(e.rel).toBeLessThanOrEqual(tolerance(fx, outKey));
    });
  }

  it("imagebind_chain: out.audio_input (tfjs and onnxruntime-node)", async () => {
    if (!listFixtures().includes("imagebind_chain")) return;
    const { fx, S, wav, wavShape, outKey } = chainCase("imagebind_chain");
    const ops = new TfjsOps();
    const y = tf.tidy(() => audioToImageBindInput(ops, tf.tensor(wav, wavShape), S));
    const e = relL2(await y.data(), fx.io!.float(outKey));
    y.dispose();
    ops.dispose();
    const em = new OnnxEmitter();
    em.output("input", audioToImageBindInput<Sym>(em, em.input("waveform", wavShape), S));
    const ort = ortNode as unknown as OrtModule;
    const session = await createSession(ort, em.build());
    const res = await runSession(ort, session, { waveform: { data: wav, shape: wavShape } });
    await session.release();
    const eo = relL2(res.input.data, fx.io!.float(outKey));
    report.push(
      `imagebind_chain audio_input: tfjs ${e.rel.toExponential(2)}, onnx ${eo.rel.toExponential(2)} (tol ${tolerance(fx, outKey)})`,
    );
    expect(e.rel).toBeLessThanOrEqual(tolerance(fx, outKey));
    expect(eo.rel).toBeLessThanOrEqual(tolerance(fx, outKey));
  });

  it("report", () => {
    console.log(report.join("\n"));
  });
});

describe("multi-channel condition audio (upstream load_and_transform_audio_data after resampling)", () => {
  it("fbank reads channel 0; the in-place mean (over all channels) only matters where clips overlap", async () => {
    const L = 40000; // 2.5 s: 3 overlapping 1-s clips
    const left = randn(L, 41, 0.1);
    const right = randn(L, 42, 0.1).map((v) => v + 0.3); // a DC offset that the stereo mean carries
    const stereo = new Float32Array(2 * L);
    stereo.set(left, 0);
    stereo.set(right, L);
    const ops = new TfjsOps();
    const run = async (data: Float32Array, shape: number[], S: number, clipDuration: number) => {
      const y = tf.tidy(() => audioToImageBindInput(ops, tf.tensor(data, shape), S, { clipDuration }));
      const v = Float32Array.from(await y.data());
      y.dispose();
      return v;
    };
    // non-overlapping clips (2 × 1 s of 2.5 s has a gap): stereo == mono(left)
    expect(relL2(await run(stereo, [2, L], 2, 1), await run(left, [1, L], 2, 1)).rel).toBeLessThan(1e-6);
    // overlapping clips: the stereo mean shifts the overlap of later clips, so the result differs from mono
    const a = await run(stereo, [2, L], 3, 1);
    const b = await run(left, [1, L], 3, 1);
    expect(relL2(a.subarray(0, 128 * 204), b.subarray(0, 128 * 204)).rel).toBeLessThan(1e-6); // clip 0
    expect(relL2(a, b).rel).toBeGreaterThan(1e-4);
    ops.dispose();
  });
});
