/**
 * The fixture families without network weights, so `npm run parity` covers every golden the unit tests check:
 *
 * - `fbank_*`: waveform → official 1-s clips → Kaldi fbank → [1, S, 1, 128, 204], outputs and ∂/∂waveform through
 *   the tfjs executor, outputs through the ONNX emitter (the differentiable chain the guidance path uses);
 * - `imagebind_prep_video`: decoded uint8 frames → ImageBind vision input, through the host path the studio
 *   uses for a condition video and the differentiable path (tfjs, ONNX) used for generated frames;
 * - `tok_clip`, `tok_roberta`: token ids, exact match required (a row's "rel" is the fraction of cases that differ);
 * - `ddim_*`: the diffusers DDIM loop with the fixture's fake ε, every recorded tensor by relative L2.
 *
 * Every size, rate and tolerance is read from the fixture; the unit tests next to each module check the
 * details (clip times, truncation rules, bit-exactness) on the same fixtures.
 */
import { join } from "node:path";
import { audioToImageBindInputWithSideEffect } from "../../../src/engine/preprocess/audio/imagebind_audio.js";
import { loadClipTokenizer, loadRobertaTokenizer } from "../../../src/engine/preprocess/tokenizers/load.js";
import {
  framesToImageBindInput,
  videoToImageBindInput,
} from "../../../src/engine/preprocess/video/imagebind_video.js";
import { DDIMScheduler } from "../../../src/engine/schedulers/ddim.js";
import { type Fixture, goldenDir, relL2, tolerance } from "../../support/golden.js";
import {
  compare,
  fixtureInput,
  type ParityRow,
  type ParityRunner,
  standardRows,
  type TensorCheck,
} from "../harness.js";

/** No weights in these programs: fp16/q4 variants would repeat the fp32 row. */
const noQuant = <E extends { quantized: boolean }>(env: E): E => ({ ...env, quantized: false });

export const fbankRunner: ParityRunner = {
  family: "fbank",
  supports: (name) => name.startsWith("fbank_"),
  run(fx, env) {
    const io = fx.io!;
    const outKey = io.has("out.fbank") ? "out.fbank" : "out.audio_input";
    const clips = io.shape(outKey)[1];
    return standardRows(fx, noQuant(env), {
      inputs: { "in.waveform": fixtureInput(fx, "in.waveform"), "in.probe": fixtureInput(fx, "in.probe") },
      forward: (ops, xs) => {
        const r = audioToImageBindInputWithSideEffect(ops, xs["in.waveform"], clips);
        return { [outKey]: r.input, "out.waveform_after": r.waveformAfter };
      },
      // Σ fbank · probe: the fixture's ∂/∂waveform is of this scalar
      loss: (ops, outs, xs) => {
        const p = ops.mul(outs[outKey], xs["in.probe"]);
        return ops.sum(p, [...ops.shape(p).keys()]);
      },
      gradWrt: ["in.waveform"],
    });
  },
};

/** uint8 [T, H, W, 3] (decord layout) → float32 [T, 3, H, W] / 255, as torch divides. */
export function framesUint8ToChw(frames: Uint8Array, T: number, H: number, W: number): Float32Array {
  const out = new Float32Array(T * 3 * H * W);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++)
          out[((t * 3 + c) * H + y) * W + x] = Math.fround(frames[((t * H + y) * W + x) * 3 + c] / 255);
  return out;
}

/** The fixture records its frame rate only in its description ("… at 8.0 fps …"). */
function fpsOf(fx: Fixture): number {
  const m = String(fx.meta.what).match(/at ([\d.]+) fps/);
  if (!m) throw new Error(`${fx.name}: cannot read the frame rate from "${fx.meta.what}"`);
  return Number(m[1]);
}

export const prepVideoRunner: ParityRunner = {
  family: "imagebind_prep_video",
  supports: (name) => name.startsWith("imagebind_prep_video"),
  async run(fx, env) {
    const io = fx.io!;
    const [T, H, W] = io.shape("in.frames_uint8");
    const [, clips, , samplesPerClip] = io.shape("out.vision_input");
    const fps = fpsOf(fx);
    const frames = Uint8Array.from(io.get("in.frames_uint8"));
    const plain = videoToImageBindInput({ data: frames, numFrames: T, height: H, width: W, fps }, clips, {
      samplesPerClip,
    });
    const host: ParityRow = {
      fixture: fx.name,
      executor: "host",
      checks: compare(fx, { "out.vision_input": plain }),
      informational: false,
      note: "condition-video path",
    };
    const diff = await standardRows(fx, noQuant(env), {
      inputs: { frames: { data: framesUint8ToChw(frames, T, H, W), shape: [T, 3, H, W] } },
      forward: (ops, xs) => ({
        "out.vision_input": framesToImageBindInput(ops, xs.frames, fps, clips, { samplesPerClip }),
      }),
    });
    return [host, ...diff];
  },
};

/** One exact check over a list of cases: rel = fraction of cases whose ids differ (tolerance 0). */
function exactCheck(key: string, cases: number, mismatches: number): TensorCheck {
  return { key, rel: cases ? mismatches / cases : 1, worst: mismatches, tol: 0 };
}

const sameIds = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

interface ClipCase {
  text: string;
  imagebind_ids: number[];
  hf_clip_ids: number[];
}

export const clipTokenizerRunner: ParityRunner = {
  family: "tok_clip",
  supports: (name) => name === "tok_clip",
  async run(fx) {
    // "tok_clip_bpe_simple_vocab_16e6.txt.gz (copied byte-identical …)": the file name is the first word
    const vocab = join(goldenDir(), String(fx.meta.vocab_file).split(" ")[0]);
    const tok = await loadClipTokenizer(vocab);
    const cases = fx.meta.cases as ClipCase[];
    let ib = 0;
    let hf = 0;
    for (const c of cases) {
      const got = tok.encodeForImageBind(c.text, {
        contextLength: c.imagebind_ids.length,
        truncation: "upstream",
      });
      if (!sameIds(got, c.imagebind_ids)) ib++;
      const n = c.hf_clip_ids.length;
      if (!sameIds(tok.encodeHf(c.text, { maxLength: n }).inputIds, c.hf_clip_ids)) hf++;
    }
    return [
      {
        fixture: fx.name,
        executor: "host",
        checks: [exactCheck("imagebind_ids", cases.length, ib), exactCheck("hf_clip_ids", cases.length, hf)],
        informational: false,
      },
    ];
  },
};

interface RobertaCase {
  text: string;
  ids_77: number[];
}

export const robertaTokenizerRunner: ParityRunner = {
  family: "tok_roberta",
  supports: (name) => name === "tok_roberta",
  async run(fx) {
    const dir = goldenDir();
    const [vocabFile, mergesFile] = (fx.meta.vocab_files as string[]).map((f) => join(dir, f));
    const tok = await loadRobertaTokenizer(vocabFile, mergesFile);
    const cases = fx.meta.cases as RobertaCase[];
    let bad = 0;
    for (const c of cases)
      if (!sameIds(tok.encode(c.text, { maxLength: c.ids_77.length }).inputIds, c.ids_77)) bad++;
    return [
      {
        fixture: fx.name,
        executor: "host",
        checks: [exactCheck("ids_77", cases.length, bad)],
        informational: false,
      },
    ];
  },
};

/** The fixture's fake model, parsed from its description "eps(z, t) = A*sin(z) + B*t/C" (torch float32 ops). */
export function fakeEpsFrom(description: string): (z: Float32Array, t: number) => Float32Array {
  const f32 = Math.fround;
  const m = description.match(/eps\(z, t\) = ([\d.]+)\*sin\(z\) \+ ([\d.]+)\*t\/([\d.]+)/);
  if (!m) throw new Error(`unrecognised fake_eps description: ${description}`);
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return (z, t) => {
    const shift = f32((b * t) / c); // a Python float added to a float32 tensor
    return z.map((v) => f32(f32(f32(a) * f32(Math.sin(v))) + shift));
  };
}

export const ddimRunner: ParityRunner = {
  family: "ddim",
  supports: (name) => name.startsWith("ddim_"),
  async run(fx) {
    const io = fx.io!;
    const meta = fx.meta as unknown as {
      full_config: Record<string, unknown>;
      num_inference_steps: number;
      eta: number;
    };
    const steps = meta.num_inference_steps;
    const s = DDIMScheduler.fromConfig(meta.full_config);
    s.setTimesteps(steps);
    const fakeEps = fakeEpsFrom(String(fx.meta.fake_eps));
    let z = io.float("in.z_T");
    const n = z.length;
    const rec: Record<string, Float32Array> = {};
    for (const k of ["z_t", "eps", "x0", "z_prev"]) rec[`out.${k}`] = new Float32Array(n * steps);
    const table = s.scheduleTable();
    Array.from(s.timesteps).forEach((t, i) => {
      const eps = fakeEps(z, t);
      const out = s.step(eps, t, z, { eta: meta.eta });
      rec["out.z_t"].set(z, i * n);
      rec["out.eps"].set(eps, i * n);
      rec["out.x0"].set(out.predOriginalSample, i * n);
      rec["out.z_prev"].set(out.prevSample, i * n);
      z = out.prevSample;
    });
    rec["out.alpha_prod_t"] = Float32Array.from(table, (r) => r.alphaProdT);
    rec["out.alpha_prod_t_prev"] = Float32Array.from(table, (r) => r.alphaProdTPrev);
    const checks = compare(fx, rec);
    // betas and alphas_cumprod have no tolerance of their own: the schedule's (ᾱ_t) applies
    const tol = tolerance(fx, "out.alpha_prod_t");
    for (const [key, got] of [
      ["out.betas", s.betas],
      ["out.alphas_cumprod", s.alphasCumprod],
    ] as const) {
      const { rel, worst } = relL2(got, io.float(key));
      checks.push({ key, rel, worst, tol });
    }
    const ts = io.get("out.timesteps");
    const tsDiff = Array.from(s.timesteps).filter((t, i) => t !== ts[i]).length;
    checks.push(exactCheck("out.timesteps", steps, tsDiff));
    return [{ fixture: fx.name, executor: "host", checks, informational: false }];
  },
};
