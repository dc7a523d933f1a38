/**
 * The aligner as a denoising-loop hook: the generated modality's x0 is decoded and embedded by ImageBind (on
 * the tfjs executor, or on ONNX Runtime through the emitted backward when `onnx` is given), compared with fixed
 * condition embeddings (computed once per job), and the latent is updated (SPEC §3.4 d). The same hook serves V2A/I2A (audio generated; vision + text targets) and A2V
 * (video generated; audio + text targets): only `embed` and the targets differ.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Ops } from "../ops/ops.js";
import type { TfjsOps } from "../ops/tfjs.js";
import type { AlignResult, StepContext } from "../pipelines/denoise.js";
import { guideLatent, guideLatentHost } from "./guidance.js";
import { bindLoss, type LossTerm } from "./losses.js";
import type { OnnxGuidance } from "./onnx_guidance.js";
import { type OptimizerConfig, StepOptimizer } from "./optimizer.js";

/** Decode a predicted x0 and embed it with ImageBind: x0 [1, ...latent] → embedding [1, D]. */
export type EmbedPath = (x0: tf.Tensor, taps?: Record<string, tf.Tensor>) => tf.Tensor;

/** The same path written once against `Ops<T>`: run eagerly on tfjs, or traced into an ONNX gradient graph. */
export type EmbedFn = <T>(ops: Ops<T>, x0: T, taps?: Record<string, T>) => T;

/** An `EmbedFn` bound to a tfjs executor. */
export function onTfjs(ops: TfjsOps, f: EmbedFn): EmbedPath {
  return (x0, taps) => f(ops, x0, taps);
}

export interface AlignTarget {
  /** Loss-term name, e.g. "text-audio" (condition first, generated second, as the official code orders cos). */
  name: string;
  /** Condition embedding [1, D]. */
  embedding: Float32Array;
  weight: number;
}

export interface AlignerOptions {
  /** The tfjs executor the embed path runs on (its weights stay cached on the device across steps). */
  ops: TfjsOps;
  embed: EmbedPath;
  targets: readonly AlignTarget[];
  optimizer: OptimizerConfig;
  /** Inner iterations K per guided step (official: 1). */
  iterations: number;
  latentShape: readonly number[];
  /**
   * Run the loss and its gradient on ONNX Runtime instead of `ops` (same loss, same update: aligner/guidance.ts
   * `guideLatentHost`). `onTaps` then receives only ∂L/∂z.
   */
  onnx?: OnnxGuidance | null;
  /** The job's cancel signal: stops waiting for the ORT guidance session to be built. */
  signal?: AbortSignal;
  /**
   * Diagnostics: receives the first iteration's intermediate tensors (x0, whatever the embed path taps —
   * e.g. mel, waveform, audio_input — the generated embedding and ∂L/∂z) as host arrays.
   */
  onTaps?: (taps: Record<string, Float32Array>) => void;
}

export function makeAligner(o: AlignerOptions): (ctx: StepContext) => Promise<AlignResult> {
  const size = o.latentShape.reduce((a, b) => a * b, 1);
  const optimizer = new StepOptimizer(o.optimizer, size);
  const dim = o.targets[0]?.embedding.length ?? 0;
  const onnx = o.onnx;
  if (onnx)
    return async (ctx) => {
      const r = await guideLatentHost(
        { latent: ctx.latent, shape: o.latentShape, eps: ctx.eps, alphaBarT: ctx.alphaBarT },
        (x0) => onnx.lossAndGrad(x0, o.latentShape, o.targets, o.signal),
        optimizer,
        o.iterations,
      );
      o.onTaps?.({ grad: r.grad });
      return { latent: r.latent, loss: r.losses[0], terms: r.terms, innerLosses: r.losses };
    };
  return async (ctx) => {
    const targets = o.targets.map((t) => ({ ...t, tensor: tf.tensor(t.embedding, [1, dim]) }));
    const taps: Record<string, tf.Tensor> = {};
    let capture = !!o.onTaps; // first iteration only
    try {
      const r = await guideLatent(
        { latent: ctx.latent, shape: o.latentShape, eps: ctx.eps, alphaBarT: ctx.alphaBarT },
        (x0) => {
          const local: Record<string, tf.Tensor> | undefined = capture ? { x0 } : undefined;
          const e = o.embed(x0, local);
          if (local) {
            local.embedding = e;
            for (const [k, v] of Object.entries(local)) taps[k] = tf.keep(v);
            capture = false;
          }
          const terms: LossTerm<tf.Tensor>[] = targets.map((t) => ({
            name: t.name,
            a: t.tensor,
            b: e,
            weight: t.weight,
          }));
          return bindLoss(o.ops, terms);
        },
        optimizer,
        o.iterations,
      );
      if (o.onTaps) {
        const host: Record<string, Float32Array> = { grad: r.grad };
        for (const [k, v] of Object.entries(taps)) host[k] = Float32Array.from(await v.data());
        o.onTaps(host);
      }
      return { latent: r.latent, loss: r.losses[0], terms: r.terms, innerLosses: r.losses };
    } finally {
      for (const t of targets) t.tensor.dispose();
      for (const v of Object.values(taps)) v.dispose();
    }
  };
}
