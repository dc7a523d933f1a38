/**
 * The Joint-VA aligner (paper Algorithm 1, SPEC §4.2): both latents — AudioLDM's and AnimateDiff's — are decoded
 * from their x0 and embedded by ImageBind, and the triangle loss
 *   L = w_tv·(1 − cos(e_p, e_v)) + w_av·(1 − cos(e_a, e_v)) + w_ta·(1 − cos(e_p, e_a))
 * is differentiated w.r.t. BOTH latents (and, with guided prompt tuning, both conditional prompt embeddings) in
 * one tfjs backward pass. Each latent then takes its own optimizer step with its own λ1 (audio 0.1, video 0.01;
 * SPEC §4.2, §8 Q2); prompts use persistent Adam (§8 Q5) and the unconditional branches stay fixed (§8 Q13).
 *
 * A term with weight 0 is not computed. A latent that no active term reaches (e.g. only text–video on: the
 * audio latent) is neither decoded nor updated, so its run stays identical to the vanilla one.
 *
 * x0 follows the official loop (SPEC §9 D2): x0 = (z_post − √(1−ᾱ_t)·ε̂)/√ᾱ_t with ε̂ of the current step; with
 * prompt tuning ε̂(y) = ε_u + w·(ε_c(z_t, t, y) − ε_u) as in aligner/prompt_tuning.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { TfjsOps } from "../ops/tfjs.js";
import type { StepContext } from "../pipelines/denoise.js";
import { officialX0, officialX0Host, x0GradToLatent } from "./guidance.js";
import type { EmbedPath } from "./hook.js";
import { bindLoss, type LossTerm } from "./losses.js";
import type { OnnxJointGuidance } from "./onnx_guidance.js";
import { type OptimizerConfig, StepOptimizer } from "./optimizer.js";
import type { PromptState } from "./prompt_tuning.js";

export type JointModality = "audio" | "video";
export const TRIANGLE_TERMS = ["text-video", "audio-video", "text-audio"] as const;
export type TriangleTerm = (typeof TRIANGLE_TERMS)[number];
export type TriangleWeights = Readonly<Record<TriangleTerm, number>>;

export interface JointPromptTuning {
  prompt: PromptState;
  optimizer: OptimizerConfig;
  /** ε_c(z_t, t, y) on tfjs, differentiable in y. */
  epsCond: (ops: TfjsOps, z: tf.Tensor, t: number, y: tf.Tensor) => tf.Tensor;
  guidanceScale: number;
  /** ε_u of the current step (null without CFG). */
  epsUncond: () => Float32Array | null;
}

export interface JointBranch {
  embed: EmbedPath;
  latentShape: readonly number[];
  latentOptimizer: OptimizerConfig;
  promptTuning?: JointPromptTuning;
}

export interface JointAlignerOptions {
  ops: TfjsOps;
  /** ImageBind text embedding of the prompt [D]. */
  text: Float32Array;
  weights: TriangleWeights;
  iterations: number;
  audio: JointBranch;
  video: JointBranch;
  /** Diagnostics: ∂L/∂z of each updated latent at the first inner iteration. */
  onGrads?: (g: Partial<Record<JointModality, Float32Array>>) => void;
  /**
   * The same loss and gradients on ONNX Runtime (aligner/onnx_guidance.ts). Used when no branch tunes its
   * prompt (prompt tuning differentiates through the UNets, on tfjs).
   */
  onnx?: OnnxJointGuidance | null;
  /** The job's cancel signal: stops waiting for the ORT guidance session to be built. */
  signal?: AbortSignal;
}

export interface JointAlignResult {
  latents: Record<JointModality, Float32Array>;
  loss: number;
  /** Unweighted (1 − cos) of each active term, first iteration. */
  terms: Record<string, number>;
  innerLosses: number[];
  /** Which latents the loss reached (and were updated). */
  updated: JointModality[];
}

/**
 * The active triangle terms over the prompt's and the decoded latents' embeddings, in the official order and
 * pairing: condition (or audio) first, cos(a, b). Shared by the tfjs aligner and the ONNX graph.
 */
export function triangleTerms<T>(
  w: TriangleWeights,
  text: T,
  e: Partial<Record<JointModality, T>>,
): LossTerm<T>[] {
  const terms: LossTerm<T>[] = [];
  const add = (name: TriangleTerm, a: T | undefined, b: T | undefined) => {
    if (w[name] > 0) terms.push({ name, a: a!, b: b!, weight: w[name] });
  };
  add("text-video", text, e.video);
  add("audio-video", e.audio, e.video);
  add("text-audio", text, e.audio);
  return terms;
}

/** The modalities the active terms involve. */
export function involvedModalities(w: TriangleWeights): JointModality[] {
  const out: JointModality[] = [];
  if (w["text-audio"] > 0 || w["audio-video"] > 0) out.push("audio");
  if (w["text-video"] > 0 || w["audio-video"] > 0) out.push("video");
  return out;
}

interface Prepared {
  m: JointModality;
  b: JointBranch;
  ctx: StepContext;
  z: Float32Array;
  zOpt: StepOptimizer;
  yOpt: StepOptimizer | null;
  eps: tf.Tensor;
  zIn: tf.Tensor | null;
  epsU: tf.Tensor | null;
}

export function makeJointAligner(
  o: JointAlignerOptions,
): (ctx: Record<JointModality, StepContext>) => Promise<JointAlignResult> {
  const active = involvedModalities(o.weights);
  if (active.length === 0) throw new RangeError("joint aligner: every triangle term has weight 0");
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const opt = Object.fromEntries(
    active.map((m) => {
      const b = o[m];
      const y = b.promptTuning;
      return [
        m,
        {
          z: new StepOptimizer(b.latentOptimizer, size(b.latentShape)),
          y: y ? new StepOptimizer(y.optimizer, y.prompt.value.length) : null,
        },
      ];
    }),
  ) as Record<JointModality, { z: StepOptimizer; y: StepOptimizer | null }>;

  const onnx = o.onnx && active.every((m) => !o[m].promptTuning) ? o.onnx : null;
  if (onnx)
    return async (ctx) => {
      const st = active.map((m) => {
        opt[m].z.beginStep();
        const n = ctx[m].latent.length;
        return { m, z: Float32Array.from(ctx[m].latent), x0: new Float32Array(n), g: new Float32Array(n) };
      });
      const innerLosses: number[] = [];
      let first: { loss: number; terms: Record<string, number> } | null = null;
      for (let k = 0; k < o.iterations; k++) {
        for (const s of st) officialX0Host(s.z, ctx[s.m].eps, ctx[s.m].alphaBarT, s.x0);
        const r = await onnx.lossAndGrads(
          Object.fromEntries(st.map((s) => [s.m, { data: s.x0, shape: o[s.m].latentShape }])),
          o.text,
          o.signal,
        );
        for (const s of st) x0GradToLatent(r.grads[s.m]!, ctx[s.m].alphaBarT, s.g);
        innerLosses.push(r.loss);
        if (!first) {
          first = { loss: r.loss, terms: r.terms };
          o.onGrads?.(Object.fromEntries(st.map((s) => [s.m, Float32Array.from(s.g)])));
        }
        for (const s of st) opt[s.m].z.update(s.z, s.g);
      }
      const latents = {
        audio: st.find((s) => s.m === "audio")?.z ?? ctx.audio.latent,
        video: st.find((s) => s.m === "video")?.z ?? ctx.video.latent,
      };
      return { latents, loss: first!.loss, terms: first!.terms, innerLosses, updated: active };
    };

  return async (ctx) => {
    const text = tf.tensor(o.text, [1, o.text.length]);
    const prepared: Prepared[] = active.map((m) => {
      const b = o[m];
      const pt = b.promptTuning;
      const u = pt?.epsUncond();
      opt[m].z.beginStep();
      opt[m].y?.beginStep();
      return {
        m,
        b,
        ctx: ctx[m],
        z: Float32Array.from(ctx[m].latent),
        zOpt: opt[m].z,
        yOpt: opt[m].y,
        eps: tf.tensor(ctx[m].eps, [...b.latentShape]),
        zIn: pt ? tf.tensor(ctx[m].latentIn, [...b.latentShape]) : null,
        epsU: pt && u ? tf.tensor(u, [...b.latentShape]) : null,
      };
    });
    const innerLosses: number[] = [];
    let first: { loss: number; terms: Record<string, number> } | null = null;
    try {
      for (let k = 0; k < o.iterations; k++) {
        // variables: each active latent, then each tuned prompt
        const vars: tf.Tensor[] = prepared.map((p) => tf.tensor(p.z, [...p.b.latentShape]));
        const tuned = prepared.filter((p) => p.b.promptTuning);
        for (const p of tuned)
          vars.push(tf.tensor(p.b.promptTuning!.prompt.value, [...p.b.promptTuning!.prompt.shape]));
        const termTensors: Record<string, tf.Tensor> = {};
        const { value, grads } = tf.tidy(() =>
          tf.valueAndGrads((...xs: tf.Tensor[]) => {
            const e: Partial<Record<JointModality, tf.Tensor>> = {};
            prepared.forEach((p, j) => {
              const t = tuned.indexOf(p);
              let eps = p.eps;
              if (t >= 0) {
                const pt = p.b.promptTuning!;
                const ec = pt.epsCond(o.ops, p.zIn!, p.ctx.t, xs[prepared.length + t]);
                eps = p.epsU ? tf.add(p.epsU, tf.mul(tf.sub(ec, p.epsU), pt.guidanceScale)) : ec;
              }
              e[p.m] = p.b.embed(officialX0(xs[j], eps, p.ctx.alphaBarT));
            });
            const parts = bindLoss(o.ops, triangleTerms(o.weights, text, e));
            for (const [n, t] of Object.entries(parts.terms)) termTensors[n] = tf.keep(t);
            return parts.total;
          })(vars),
        );
        const host = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
        const loss = (await value.data())[0];
        innerLosses.push(loss);
        if (!first) {
          const terms: Record<string, number> = {};
          for (const [n, t] of Object.entries(termTensors)) terms[n] = (await t.data())[0];
          first = { loss, terms };
          o.onGrads?.(Object.fromEntries(prepared.map((p, j) => [p.m, Float32Array.from(host[j])])));
        }
        for (const t of [value, ...grads, ...vars, ...Object.values(termTensors)]) t.dispose();
        prepared.forEach((p, j) => {
          p.zOpt.update(p.z, host[j]);
        });
        tuned.forEach((p, t) => {
          p.yOpt!.update(p.b.promptTuning!.prompt.value, host[prepared.length + t]);
        });
      }
    } finally {
      text.dispose();
      for (const p of prepared) for (const t of [p.eps, p.zIn, p.epsU]) t?.dispose();
    }
    const latents = {
      audio: prepared.find((p) => p.m === "audio")?.z ?? ctx.audio.latent,
      video: prepared.find((p) => p.m === "video")?.z ?? ctx.video.latent,
    };
    return { latents, loss: first!.loss, terms: first!.terms, innerLosses, updated: active };
  };
}
