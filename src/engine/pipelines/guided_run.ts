/**
 * One denoising run of a single-model task (V2A/I2A/T2A with AudioLDM, A2V with AnimateDiff): the shared loop
 * (denoise.ts) with CFG through the forward runner, and — for the guided run — the aligner hook: the latent
 * update alone (aligner/hook.ts) or with guided prompt tuning (aligner/prompt_tuning.ts). Emits step and
 * preview events; vanilla and guided runs differ only in `aligner` (STYLE.md 8, 10).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type AlignTarget, type EmbedPath, makeAligner } from "../aligner/hook.js";
import type { OnnxGuidance } from "../aligner/onnx_guidance.js";
import type { OptimizerKind } from "../aligner/optimizer.js";
import { makePromptTuningAligner } from "../aligner/prompt_tuning.js";
import type { HostTensor } from "../ops/onnx/session.js";
import type { TfjsOps } from "../ops/tfjs.js";
import { type DDIMScheduler, isGuidedStep } from "../schedulers/ddim.js";
import { denoise, type StepReport } from "./denoise.js";
import type { EventSink, Preview, RunName } from "./events.js";

/** Aligner settings every task shares; each task adds its loss-term weights. */
export interface AlignerCore {
  enabled: boolean;
  /** λ1: Adam learning rate (official) or plain gradient step (SPEC §8 Q1). */
  lambda: number;
  /** Guided iff i > int(warmup · steps) (SPEC §8 Q3). */
  warmup: number;
  /** Inner iterations K (SPEC §8 Q4). */
  iterations: number;
  optimizer: Extract<OptimizerKind, "adam" | "sgd">;
  /** Guided prompt tuning ŷ = y − λ2∇_y L with a persistent Adam (SPEC §4.3, §8 Q5). */
  promptTuning: { enabled: boolean; lambda: number };
}

export interface CfgPrediction {
  eps: Float32Array;
  uncond: Float32Array | null;
}

export interface GuidedRunOptions {
  run: RunName;
  scheduler: DDIMScheduler;
  steps: number;
  latent0: Float32Array;
  latentShape: readonly number[];
  /** [uncond; cond] condition rows [2, ...row] (copied: the cond row may be tuned during the run). */
  cond: HostTensor;
  guidanceScale: number;
  /** ε̂ with CFG on the forward runner for z at t, with the current condition rows. */
  predict: (z: Float32Array, t: number, cond: HostTensor) => Promise<CfgPrediction>;
  /** Null for the vanilla run. */
  aligner: AlignerCore | null;
  grad: TfjsOps;
  /** x0 → ImageBind embedding of the generated modality (tfjs, differentiable). */
  embed: EmbedPath;
  /** The same path on ONNX Runtime with its emitted backward; when set, the latent-only aligner runs there. */
  onnxGuidance?: OnnxGuidance | null;
  targets: readonly AlignTarget[];
  /** ε_c(z_t, t, y) on tfjs, differentiable in y (prompt tuning only). */
  epsCondTfjs: (ops: TfjsOps, z: tf.Tensor, t: number, y: tf.Tensor) => tf.Tensor;
  preview?: (x0: Float32Array) => Promise<Preview>;
  /** Emit an x0 preview every N steps (0: never). */
  previewEvery?: number;
  emit: EventSink;
  signal?: AbortSignal;
}

export interface GuidedRunResult {
  latent: Float32Array;
  /** Per guided step: the loss before the update. */
  lossCurve: { i: number; loss: number }[];
  /** ‖y_final − y_0‖ of the tuned conditional embedding (prompt tuning only). */
  promptNorm?: number;
  /** The final condition rows (the cond row tuned when prompt tuning ran). */
  cond: Float32Array;
}

export async function guidedRun(o: GuidedRunOptions): Promise<GuidedRunResult> {
  const { run, emit } = o;
  const cond = Float32Array.from(o.cond.data);
  const row = cond.length / 2;
  const rowShape = [1, ...o.cond.shape.slice(1)];
  const lossCurve: { i: number; loss: number }[] = [];
  const previews: Promise<void>[] = [];
  let lastUncond: Float32Array | null = null;
  let promptNorm: number | undefined;
  const a = o.aligner?.enabled ? o.aligner : null;
  const latentOptimizer = a ? ({ kind: a.optimizer, lr: a.lambda } as const) : null;
  let align: Parameters<typeof denoise>[0]["align"];
  if (a && latentOptimizer && !a.promptTuning.enabled) {
    align = makeAligner({
      ops: o.grad,
      embed: o.embed,
      onnx: o.onnxGuidance,
      signal: o.signal,
      targets: o.targets,
      optimizer: latentOptimizer,
      iterations: a.iterations,
      latentShape: o.latentShape,
    });
  } else if (a && latentOptimizer) {
    const y = { value: cond.subarray(row, 2 * row), shape: rowShape };
    const y0 = Float32Array.from(y.value);
    align = makePromptTuningAligner({
      ops: o.grad,
      embed: o.embed,
      targets: o.targets,
      latentOptimizer,
      promptOptimizer: { kind: "adam-persistent", lr: a.promptTuning.lambda },
      iterations: a.iterations,
      latentShape: o.latentShape,
      prompt: y,
      epsCond: o.epsCondTfjs,
      guidanceScale: o.guidanceScale,
      // SPEC §8 Q13: ε_u of the step is a constant; only the conditional embedding is tuned
      epsUncond: () => (o.guidanceScale > 1 ? lastUncond : null),
      onPrompt: (v, norm) => {
        let dist = 0;
        for (let k = 0; k < v.length; k++) dist += (v[k] - y0[k]) ** 2;
        promptNorm = Math.sqrt(dist);
        emit({ type: "prompt-update", run, i: -1, norm });
      },
    });
  }
  const latent = await denoise({
    scheduler: o.scheduler,
    steps: o.steps,
    latent: Float32Array.from(o.latent0),
    predictEps: async (z, t) => {
      const r = await o.predict(z, t, { data: cond, shape: o.cond.shape });
      lastUncond = r.uncond ? Float32Array.from(r.uncond) : null;
      return r.eps;
    },
    align,
    guided: (i) => isGuidedStep(i, o.steps, a?.warmup ?? 0),
    signal: o.signal,
    onStep: (s: StepReport) => {
      if (s.loss !== undefined) lossCurve.push({ i: s.i, loss: s.loss });
      emit({
        type: "step",
        run,
        i: s.i,
        n: s.n,
        t: s.t,
        guided: s.guided,
        loss: s.loss,
        terms: s.terms,
        innerLosses: s.innerLosses,
        ms: s.ms,
      });
      const every = o.previewEvery ?? 0;
      if (o.preview && every > 0 && (s.i % every === every - 1 || s.i === s.n - 1))
        previews.push(o.preview(s.x0).then((preview) => emit({ type: "preview", run, i: s.i, preview })));
    },
  });
  await Promise.all(previews);
  return { latent, lossCurve, promptNorm, cond };
}
