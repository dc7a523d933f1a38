/**
 * The denoising loop every task shares (SPEC §3.4): for each timestep, predict ε̂ with classifier-free
 * guidance, take the DDIM step, then — on guided steps — let the aligner replace the stepped latent.
 * Vanilla runs are the same loop without the hook. Cancellation is checked before every step.
 */
import { CancelledError } from "../errors.js";
import type { HostTensor } from "../ops/onnx/session.js";
import type { ForwardRunner } from "../ops/runner.js";
import type { DDIMScheduler } from "../schedulers/ddim.js";

export interface StepContext {
  i: number;
  t: number;
  /** Number of inference steps. */
  n: number;
  /** z_t, the latent entering the step. */
  latentIn: Float32Array;
  /** z_{t_prev} after the DDIM step. */
  latent: Float32Array;
  /** CFG-combined noise prediction of this step. */
  eps: Float32Array;
  /** ᾱ at the current timestep t. */
  alphaBarT: number;
  /** The scheduler's x̂0 (preview). */
  x0: Float32Array;
}

export interface AlignResult {
  latent: Float32Array;
  /** Loss before the first update (= innerLosses[0]). */
  loss: number;
  terms: Record<string, number>;
  /** Loss before each inner iteration's update (K values). */
  innerLosses: number[];
}

export interface StepReport {
  i: number;
  n: number;
  t: number;
  guided: boolean;
  loss?: number;
  terms?: Record<string, number>;
  innerLosses?: number[];
  /** x̂0 of the step (after the aligner, the stepped latent's own x̂0 is not recomputed). */
  x0: Float32Array;
  ms: number;
}

export interface DenoiseOptions {
  scheduler: DDIMScheduler;
  steps: number;
  latent: Float32Array;
  /** CFG-combined ε̂ for z_t at step i. */
  predictEps: (z: Float32Array, t: number, i: number) => Promise<Float32Array>;
  /** The aligner; called after the DDIM step when `guided(i)` is true. */
  align?: (ctx: StepContext) => Promise<AlignResult>;
  guided?: (i: number) => boolean;
  signal?: AbortSignal;
  onStep?: (r: StepReport) => void;
}

export async function denoise(o: DenoiseOptions): Promise<Float32Array> {
  o.scheduler.setTimesteps(o.steps);
  const ts = o.scheduler.timesteps;
  let z = o.latent;
  for (let i = 0; i < ts.length; i++) z = (await denoiseStep(o, i, ts[i], z)).latent;
  return z;
}

/**
 * Step i of the loop (timesteps must be set): ε̂ → DDIM step → aligner on guided steps. Exposed so a single
 * iteration can be checked against the official loop's goldens.
 */
export async function denoiseStep(
  o: Omit<DenoiseOptions, "steps" | "latent">,
  i: number,
  t: number,
  z: Float32Array,
): Promise<{ latent: Float32Array; report: StepReport }> {
  const t0 = performance.now();
  const ctx = await predictAndStep(o, i, t, z);
  const guided = !!o.align && (o.guided?.(i) ?? false);
  let report: StepReport = { i, n: ctx.n, t, guided, x0: ctx.x0, ms: 0 };
  let latent = ctx.latent;
  if (guided) {
    const r = await o.align!(ctx);
    latent = r.latent;
    report = { ...report, loss: r.loss, terms: r.terms, innerLosses: r.innerLosses };
  }
  report.ms = performance.now() - t0;
  o.onStep?.(report);
  return { latent, report };
}

/**
 * The unguided half of step i: ε̂ → DDIM step, returned as the context an aligner receives. Joint generation
 * (pipelines/joint.ts) calls it for each model and then aligns both latents together.
 */
export async function predictAndStep(
  o: Pick<DenoiseOptions, "scheduler" | "predictEps" | "signal">,
  i: number,
  t: number,
  z: Float32Array,
): Promise<StepContext> {
  if (o.signal?.aborted) throw new CancelledError();
  const n = o.scheduler.numInferenceSteps ?? 0;
  const eps = await o.predictEps(z, t, i);
  if (o.signal?.aborted) throw new CancelledError();
  const { prevSample, predOriginalSample } = o.scheduler.step(eps, t, z);
  return {
    i,
    t,
    n,
    latentIn: z,
    latent: prevSample,
    eps,
    alphaBarT: o.scheduler.alphaProd(t),
    x0: predOriginalSample,
  };
}

/** Names of a noise predictor's runner inputs: the latent, and the per-row condition ([uncond, cond]). */
export interface CfgInputNames {
  sample: string;
  cond: string;
}

/**
 * ε̂ for latent z at timestep t with classifier-free guidance (SPEC §2.4), for any UNet runner whose condition
 * is one row per batch item: one batch of two, [uncond, cond], combined as ε_u + w(ε_c − ε_u); without
 * guidance (w ≤ 1) only the conditional row runs. `cond` is [2, ...row] (AudioLDM: CLAP [2, D] class labels;
 * AnimateDiff: CLIP states [2, 77, D]).
 */
export async function predictNoiseCfgRows(
  unet: ForwardRunner,
  names: CfgInputNames,
  z: Float32Array,
  latentShape: readonly number[],
  t: number,
  cond: HostTensor,
  guidanceScale: number,
): Promise<{ eps: Float32Array; uncond: Float32Array | null; cond: Float32Array }> {
  const row = cond.data.length / 2;
  const rowShape = cond.shape.slice(1);
  const timestep = { data: Float32Array.of(t), shape: [1] };
  if (guidanceScale <= 1) {
    const out = await unet.run({
      [names.sample]: { data: z, shape: latentShape },
      timestep,
      [names.cond]: { data: cond.data.subarray(row, 2 * row), shape: [1, ...rowShape] },
    });
    const c = out.eps.data as Float32Array;
    return { eps: c, uncond: null, cond: c };
  }
  const both = new Float32Array(2 * z.length);
  both.set(z);
  both.set(z, z.length);
  const out = await unet.run({
    [names.sample]: { data: both, shape: [2, ...latentShape.slice(1)] },
    timestep,
    [names.cond]: cond,
  });
  const e = out.eps.data as Float32Array;
  return { eps: cfgCombine(e, guidanceScale), uncond: e.subarray(0, z.length), cond: e.subarray(z.length) };
}

/** ε̂ = ε_u + w·(ε_c − ε_u) from a batch-of-two prediction [uncond, cond] (SPEC §2.4). */
export function cfgCombine(batched: Float32Array, scale: number): Float32Array {
  const n = batched.length / 2;
  const out = new Float32Array(n);
  const w = Math.fround(scale);
  for (let k = 0; k < n; k++) {
    const u = batched[k];
    out[k] = Math.fround(u + Math.fround(w * Math.fround(batched[n + k] - u)));
  }
  return out;
}
