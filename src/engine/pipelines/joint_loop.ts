/**
 * The lock-step loop of joint generation (paper Algorithm 1; SPEC §4.2, §8 Q6): at every index i both models
 * take their own unguided half-step (ε̂ with CFG → DDIM step with their own scheduler; denoise.ts
 * `predictAndStep`), then — on guided steps — the joint aligner replaces both stepped latents at once.
 */
import type { JointAlignResult, JointModality } from "../aligner/joint.js";
import { CancelledError } from "../errors.js";
import type { DDIMScheduler } from "../schedulers/ddim.js";
import { predictAndStep, type StepContext } from "./denoise.js";
import type { EventSink, Preview, RunName } from "./events.js";
import type { CfgPrediction } from "./guided_run.js";

export interface JointModelState {
  latent: Float32Array;
  /** [uncond; cond] condition rows (the cond row is tuned in place by prompt tuning). */
  cond: Float32Array;
  /** ε_u of the current step (prompt tuning holds it constant). */
  uncond: Float32Array | null;
}

export type JointLoopState = Record<JointModality, JointModelState>;

export interface JointLoopOptions {
  run: RunName;
  steps: number;
  /** Mutated: the latents advance, `uncond` follows the current step. */
  state: JointLoopState;
  schedulers: Record<JointModality, DDIMScheduler>;
  predict: Record<JointModality, (z: Float32Array, t: number, cond: Float32Array) => Promise<CfgPrediction>>;
  align?: (ctx: Record<JointModality, StepContext>) => Promise<JointAlignResult>;
  guided: (i: number) => boolean;
  previews?: Record<JointModality, (x0: Float32Array) => Promise<Preview>>;
  previewEvery: number;
  emit: EventSink;
  signal?: AbortSignal;
}

const MODELS: readonly JointModality[] = ["video", "audio"];

/** Runs the loop; returns the loss before the update at each guided step. */
export async function jointLoop(o: JointLoopOptions): Promise<{ i: number; loss: number }[]> {
  for (const m of MODELS) o.schedulers[m].setTimesteps(o.steps);
  const ts = { audio: o.schedulers.audio.timesteps, video: o.schedulers.video.timesteps };
  if (ts.audio.length !== ts.video.length)
    throw new RangeError(
      `lock-step needs equal step counts (audio ${ts.audio.length}, video ${ts.video.length})`,
    );
  const lossCurve: { i: number; loss: number }[] = [];
  const previews: Promise<void>[] = [];
  const n = ts.video.length;
  for (let i = 0; i < n; i++) {
    if (o.signal?.aborted) throw new CancelledError();
    const t0 = performance.now();
    const ctx = {} as Record<JointModality, StepContext>;
    for (const m of MODELS) {
      const s = o.state[m];
      ctx[m] = await predictAndStep(
        {
          scheduler: o.schedulers[m],
          signal: o.signal,
          predictEps: async (z, t) => {
            const r = await o.predict[m](z, t, s.cond);
            s.uncond = r.uncond ? Float32Array.from(r.uncond) : null;
            return r.eps;
          },
        },
        i,
        ts[m][i],
        s.latent,
      );
    }
    const guided = !!o.align && o.guided(i);
    let r: JointAlignResult | null = null;
    if (guided) {
      r = await o.align!(ctx);
      for (const m of MODELS) o.state[m].latent = r.latents[m];
      lossCurve.push({ i, loss: r.loss });
    } else for (const m of MODELS) o.state[m].latent = ctx[m].latent;
    o.emit({
      type: "step",
      run: o.run,
      i,
      n,
      t: ts.video[i],
      guided,
      loss: r?.loss,
      terms: r?.terms,
      innerLosses: r?.innerLosses,
      ms: performance.now() - t0,
    });
    const every = o.previewEvery;
    if (o.previews && every > 0 && (i % every === every - 1 || i === n - 1))
      for (const m of MODELS)
        previews.push(
          o.previews[m](ctx[m].x0).then((preview) => o.emit({ type: "preview", run: o.run, i, preview })),
        );
  }
  await Promise.all(previews);
  return lossCurve;
}
