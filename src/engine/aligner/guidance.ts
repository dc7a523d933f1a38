/**
 * One aligner update of a latent, exactly as the official V2A loop does it (SPEC §3.4 d, §7.2):
 *   for k in 1..K:  x0 = (1/√ᾱ_t)·(z − √(1−ᾱ_t)·ε̂);  L = loss(decode(x0));  z ← update(z, ∂L/∂z)
 * ε̂ is the step's CFG noise prediction, held constant (no gradient through the UNet); ᾱ_t belongs to the
 * CURRENT timestep even though z is already the post-DDIM-step latent (SPEC §9 D2). `guideLatent` differentiates
 * on the tfjs executor; `guideLatentHost` takes ∂L/∂x0 from elsewhere (ONNX Runtime) and applies the same chain rule.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LossParts } from "./losses.js";
import type { StepOptimizer } from "./optimizer.js";

export interface GuidanceStepInput {
  /** z_{t_prev}, the latent after the DDIM step (not modified). */
  latent: Float32Array;
  shape: readonly number[];
  /** CFG noise prediction ε̂ of this step. */
  eps: Float32Array;
  /** ᾱ at the current timestep t. */
  alphaBarT: number;
}

export interface GuidanceStepResult {
  latent: Float32Array;
  /** Loss before each iteration's update (K values). */
  losses: number[];
  /** Unweighted per-term (1 − cos) of the first iteration. */
  terms: Record<string, number>;
  /** ∂L/∂z of the first iteration (for tests and diagnostics). */
  grad: Float32Array;
}

/** The x0 prediction used by the official loss: (1/√ᾱ)·(z − √(1−ᾱ)·ε). */
export function officialX0(z: tf.Tensor, eps: tf.Tensor, alphaBarT: number): tf.Tensor {
  const ab = Math.fround(alphaBarT);
  return tf.mul(
    tf.sub(z, tf.mul(eps, Math.fround(Math.sqrt(Math.fround(1 - ab))))),
    Math.fround(1 / Math.fround(Math.sqrt(ab))),
  );
}

export async function guideLatent(
  input: GuidanceStepInput,
  lossOf: (x0: tf.Tensor) => LossParts<tf.Tensor>,
  optimizer: StepOptimizer,
  iterations = 1,
): Promise<GuidanceStepResult> {
  checkIterations(iterations);
  const z = Float32Array.from(input.latent);
  const eps = tf.tensor(input.eps, [...input.shape]);
  optimizer.beginStep();
  const losses: number[] = [];
  let terms: Record<string, number> = {};
  let firstGrad: Float32Array | null = null;
  try {
    for (let k = 0; k < iterations; k++) {
      const zt = tf.tensor(z, [...input.shape]);
      const termTensors: Record<string, tf.Tensor> = {};
      const { value, grads } = tf.tidy(() => {
        const r = tf.valueAndGrads((zz: tf.Tensor) => {
          const parts = lossOf(officialX0(zz, eps, input.alphaBarT));
          for (const [name, t] of Object.entries(parts.terms)) termTensors[name] = tf.keep(t);
          return parts.total;
        })([zt]);
        return { value: r.value, grads: r.grads };
      });
      const g = (await grads[0].data()) as Float32Array;
      losses.push((await value.data())[0]);
      if (k === 0) {
        firstGrad = Float32Array.from(g);
        terms = Object.fromEntries(
          await Promise.all(
            Object.entries(termTensors).map(async ([n, t]) => [n, (await t.data())[0]] as const),
          ),
        );
      }
      for (const t of Object.values(termTensors)) t.dispose();
      value.dispose();
      grads[0].dispose();
      zt.dispose();
      optimizer.update(z, g);
    }
  } finally {
    eps.dispose();
  }
  return { latent: z, losses, terms, grad: firstGrad! };
}

/**
 * `guideLatent` with the loss and ∂L/∂x0 computed elsewhere (ONNX Runtime: aligner/onnx_guidance.ts). x0 and
 * the chain rule ∂L/∂z = ∂L/∂x0 · (1/√ᾱ) are done here in float32, in the order `officialX0` does them on tfjs,
 * so both executors feed the loss the same x0 and return the same update.
 */
export async function guideLatentHost(
  input: GuidanceStepInput,
  lossAndGrad: (
    x0: Float32Array,
  ) => Promise<{ loss: number; terms: Record<string, number>; grad: Float32Array }>,
  optimizer: StepOptimizer,
  iterations = 1,
): Promise<GuidanceStepResult> {
  checkIterations(iterations);
  const z = Float32Array.from(input.latent);
  const x0 = new Float32Array(z.length);
  const g = new Float32Array(z.length);
  optimizer.beginStep();
  const losses: number[] = [];
  let terms: Record<string, number> = {};
  let firstGrad: Float32Array | null = null;
  for (let k = 0; k < iterations; k++) {
    officialX0Host(z, input.eps, input.alphaBarT, x0);
    const r = await lossAndGrad(x0);
    x0GradToLatent(r.grad, input.alphaBarT, g);
    losses.push(r.loss);
    if (k === 0) {
      firstGrad = Float32Array.from(g);
      terms = r.terms;
    }
    optimizer.update(z, g);
  }
  return { latent: z, losses, terms, grad: firstGrad! };
}

/** `officialX0` on the host in float32, operation for operation: out = (z − √(1−ᾱ)·ε)·(1/√ᾱ). */
export function officialX0Host(
  z: Float32Array,
  eps: Float32Array,
  alphaBarT: number,
  out: Float32Array,
): void {
  const f = Math.fround;
  const ab = f(alphaBarT);
  const s = f(Math.sqrt(f(1 - ab)));
  const c = f(1 / f(Math.sqrt(ab)));
  for (let i = 0; i < z.length; i++) out[i] = f(f(z[i] - f(eps[i] * s)) * c);
}

/** ∂L/∂z from ∂L/∂x0 through `officialX0` (ε held constant): out = g·(1/√ᾱ), float32. */
export function x0GradToLatent(g: Float32Array, alphaBarT: number, out: Float32Array): void {
  const f = Math.fround;
  const c = f(1 / f(Math.sqrt(f(alphaBarT))));
  for (let i = 0; i < g.length; i++) out[i] = f(g[i] * c);
}

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
}
