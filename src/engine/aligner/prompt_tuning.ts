/**
 * Guided prompt tuning (paper §3.3, SPEC §4.3): ŷ = y − λ2 ∇_y L, together with the latent update.
 *
 * The loss reaches y only through the UNet, so on a guided step the conditional branch is recomputed on the
 * tfjs executor with y as a differentiable input:
 *   ε̂(y) = ε_u + w·(ε_c(z_t, t, y) − ε_u)         (ε_u of this step is held constant; SPEC §8 Q13)
 *   x0    = (1/√ᾱ_t)·(z − √(1−ᾱ_t)·ε̂(y))         (the official x0 of the post-step latent z, SPEC §9 D2)
 *   L     = Σ w_k (1 − cos(e_k, embed(decode(x0))))
 * and both z (the latent optimizer, official fresh Adam by default) and y (a persistent optimizer, SPEC §8 Q5)
 * take a step. The tuned y replaces the conditional embedding for every later step. y is not re-normalised:
 * the paper's update has no projection, and the step sizes keep it near the unit sphere (measured by tests).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TfjsOps } from "../ops/tfjs.js";
import type { AlignResult, StepContext } from "../pipelines/denoise.js";
import { officialX0 } from "./guidance.js";
import type { AlignTarget, EmbedPath } from "./hook.js";
import { bindLoss } from "./losses.js";
import { type OptimizerConfig, StepOptimizer } from "./optimizer.js";

export interface PromptState {
  /** The conditional prompt embedding y (mutated in place by each update). */
  value: Float32Array;
  shape: readonly number[];
}

export interface PromptTuningOptions {
  ops: TfjsOps;
  embed: EmbedPath;
  targets: readonly AlignTarget[];
  latentOptimizer: OptimizerConfig;
  promptOptimizer: OptimizerConfig;
  iterations: number;
  latentShape: readonly number[];
  prompt: PromptState;
  /** ε_c(z_t, t, y) on the tfjs executor, differentiable in y: z [1, …latent], y [1, …] → ε [1, …latent]. */
  epsCond: (ops: TfjsOps, z: tf.Tensor, t: number, y: tf.Tensor) => tf.Tensor;
  guidanceScale: number;
  /** ε_u of the current step, provided by the pipeline (null when CFG is off). */
  epsUncond: () => Float32Array | null;
  /** Called after y changes, with the new values and the update's L2 norm. */
  onPrompt?: (y: Float32Array, stepNorm: number) => void;
}

export function makePromptTuningAligner(o: PromptTuningOptions): (ctx: StepContext) => Promise<AlignResult> {
  const zSize = o.latentShape.reduce((a, b) => a * b, 1);
  const zOpt = new StepOptimizer(o.latentOptimizer, zSize);
  const yOpt = new StepOptimizer(o.promptOptimizer, o.prompt.value.length);
  const dim = o.targets[0]?.embedding.length ?? 0;
  return async (ctx) => {
    const z = Float32Array.from(ctx.latent);
    const zIn = tf.tensor(ctx.latentIn, [...o.latentShape]);
    const uncondHost = o.epsUncond();
    const epsU = uncondHost ? tf.tensor(uncondHost, [...o.latentShape]) : null;
    const targets = o.targets.map((t) => ({ ...t, tensor: tf.tensor(t.embedding, [1, dim]) }));
    zOpt.beginStep();
    yOpt.beginStep();
    let first: { loss: number; terms: Record<string, number> } | null = null;
    const innerLosses: number[] = [];
    try {
      for (let k = 0; k < o.iterations; k++) {
        const zt = tf.tensor(z, [...o.latentShape]);
        const yt = tf.tensor(o.prompt.value, [...o.prompt.shape]);
        const termTensors: Record<string, tf.Tensor> = {};
        const { value, grads } = tf.tidy(() =>
          tf.valueAndGrads((zz: tf.Tensor, yy: tf.Tensor) => {
            const ec = o.epsCond(o.ops, zIn, ctx.t, yy);
            const eps = epsU ? tf.add(epsU, tf.mul(tf.sub(ec, epsU), o.guidanceScale)) : ec;
            const e = o.embed(officialX0(zz, eps, ctx.alphaBarT));
            const parts = bindLoss(
              o.ops,
              targets.map((t) => ({ name: t.name, a: t.tensor, b: e, weight: t.weight })),
            );
            for (const [n, t] of Object.entries(parts.terms)) termTensors[n] = tf.keep(t);
            return parts.total;
          })([zt, yt]),
        );
        const gz = (await grads[0].data()) as Float32Array;
        const gy = (await grads[1].data()) as Float32Array;
        const loss = (await value.data())[0];
        innerLosses.push(loss);
        if (!first) {
          const terms: Record<string, number> = {};
          for (const [n, t] of Object.entries(termTensors)) terms[n] = (await t.data())[0];
          first = { loss, terms };
        }
        for (const t of [value, ...grads, zt, yt, ...Object.values(termTensors)]) t.dispose();
        zOpt.update(z, gz);
        const before = Float32Array.from(o.prompt.value);
        yOpt.update(o.prompt.value, gy);
        let norm = 0;
        for (let i = 0; i < before.length; i++) norm += (o.prompt.value[i] - before[i]) ** 2;
        o.onPrompt?.(o.prompt.value, Math.sqrt(norm));
      }
    } finally {
      zIn.dispose();
      epsU?.dispose();
      for (const t of targets) t.tensor.dispose();
    }
    return { latent: z, loss: first!.loss, terms: first!.terms, innerLosses };
  };
}
