/**
 * The denoising loop every task shares (SPEC §3.4): for each timestep, predict ε̂ with classifier-free
 * guidance, take the DDIM step, then — on guided steps — let the aligner replace the stepped latent.
 * Vanilla runs are the same loop without the hook. Cancellation is checked before every step.
 */
import { CancelledError } from "../errors.js";
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
  if (o.signal?.aborted) throw new CancelledError();
  const t0 = performance.now();
  const n = o.scheduler.numInferenceSteps ?? 0;
  const eps = await o.predictEps(z, t, i);
  if (o.signal?.aborted) throw new CancelledError();
  const { prevSample, predOriginalSample } = o.scheduler.step(eps, t, z);
  const guided = !!o.align && (o.guided?.(i) ?? false);
  let report: StepReport = { i, n, t, guided, x0: predOriginalSample, ms: 0 };
  let latent = prevSample;
  if (guided) {
    const r = await o.align!({
      i,
      t,
      n,
      latentIn: z,
      latent: prevSample,
      eps,
      alphaBarT: o.scheduler.alphaProd(t),
      x0: predOriginalSample,
    });
    latent = r.latent;
    report = { ...report, loss: r.loss, terms: r.terms, innerLosses: r.innerLosses };
  }
  report.ms = performance.now() - t0;
  o.onStep?.(report);
  return { latent, report };
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
