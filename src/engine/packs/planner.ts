/**
 * The memory planner: from a pack's manifest and a task's options, the peak memory of each phase of the run —
 * the weights resident in that phase (per component, in the form its executor holds them) plus the largest
 * activation footprint of what runs in it, traced from the model code at the task's shapes (trace.ts):
 *  - ONNX Runtime runs (a UNet step, the final decode): tensors freed after their last use → peak live bytes;
 *  - tfjs runs (the guidance backward, prompt tuning): the tape keeps every intermediate until the gradients are
 *    done, and the backward allocates more; measured per call as a multiple of the traced intermediates
 *    (`TFJS_CALIBRATION`, planner-calls.ts).
 * `planMemory` compares the peak with the budget and the adapter's maxBufferSize and accepts, applies fallbacks
 * in order (ONNX weights fp16 → q4, no prompt tuning, fewer frames), or refuses with a message saying what to
 * change. Estimates are plain data (structured-clone-safe for the UI), with per-component numbers so a test can
 * compare them with measured tfjs memory and ORT session sizes.
 */
import { BadInputError, OutOfMemoryError } from "../errors.js";
import { componentClass, imagebindPrefixes } from "../models/registry.js";
import { namedParams } from "../ops/param.js";
import { linearWeightKeys } from "./encode.js";
import {
  type CallId,
  type CallShapes,
  callBody,
  ModuleCache,
  ORT_GUIDANCE,
  TFJS_CALIBRATION,
} from "./planner-calls.js";
import {
  declarePhases,
  type Executor,
  type Geometry,
  type ImageBindModality,
  type OnnxWeights,
  type PhaseDecl,
  ROLE_KIND,
  type Role,
  TASK_ROLES,
  type Task,
  type TaskOptions,
  type Work,
} from "./planner-phases.js";
import type { ComponentKind, ComponentManifest, PackManifest } from "./schema.js";
import { type ActivationProfile, traceActivations } from "./trace.js";

export { TASKS, type Task, type TaskOptions } from "./planner-phases.js";

export interface PlanLimits {
  /** Memory the run may use (GPU memory, or RAM on the wasm fallback). */
  budgetBytes: number;
  /** The adapter's maxBufferSize: no single activation buffer may exceed it. */
  maxBufferSize: number;
}

export interface ComponentUse {
  /** "model/component" in the pack. */
  component: string;
  kind: ComponentKind;
  executor: Executor;
  format: OnnxWeights | "fp32-tfjs";
  weightsBytes: number;
}

export interface PhaseEstimate {
  name: PhaseDecl["name"];
  resident: ComponentUse[];
  weightsBytes: number;
  /** The largest of the phase's activation footprints, and which one it is. */
  activationBytes: number;
  activationSource: string;
  totalBytes: number;
  largestBufferBytes: number;
}

export interface MemoryEstimate {
  task: Task;
  options: Required<TaskOptions>;
  phases: PhaseEstimate[];
  peakBytes: number;
  peakPhase: PhaseEstimate["name"];
  largestBufferBytes: number;
}

/** Roles that only ever run forward (the q4 fallback applies to them; specs.ts `forwardOnly`). */
const FORWARD_ONLY: readonly Role[] = [
  "audio.unet",
  "audio.text",
  "video.unet",
  "video.adapter",
  "video.text",
];

/** Bytes per weight as ONNX Runtime holds it (q4: 4-bit codes + one f32 scale per 32 weights). */
export const WEIGHT_BYTES = Object.freeze({ fp32: 4, fp16: 2, q4Linear: 0.5 + 4 / 32 });

export function withDefaults(o: TaskOptions, manifests: readonly PackManifest[]): Required<TaskOptions> {
  const q4 = manifests.some((manifest) =>
    Object.values(manifest.models).some((m) =>
      Object.values(m.components).some((c) => c.quantization === "q4"),
    ),
  );
  return {
    task: o.task,
    seconds: o.seconds ?? 10,
    frames: o.frames ?? 16,
    height: o.height ?? 512,
    width: o.width ?? 512,
    guidance: o.guidance ?? true,
    guidanceExecutor: o.guidanceExecutor ?? "tfjs",
    promptTuning: o.promptTuning ?? false,
    cfg: o.cfg ?? true,
    clips: o.clips ?? 3,
    decodeFrames: o.decodeFrames ?? 4,
    decodeChunk: o.decodeChunk ?? 4,
    onnxWeights: o.onnxWeights ?? (q4 ? "q4" : "fp16"),
  };
}

export class MemoryPlanner {
  private readonly modules = new ModuleCache();
  private readonly traces = new Map<string, ActivationProfile>();
  private readonly weightCache = new Map<string, number>();
  private readonly byRole = new Map<Role, { id: string; c: ComponentManifest }>();

  readonly manifests: readonly PackManifest[];

  /** Over one pack, or several (a task may take AudioLDM from one and ImageBind from another; first wins). */
  constructor(manifests: PackManifest | readonly PackManifest[]) {
    this.manifests = Array.isArray(manifests) ? manifests : [manifests as PackManifest];
    const multi = this.manifests.length > 1;
    for (const manifest of this.manifests)
      for (const [mid, m] of Object.entries(manifest.models))
        for (const [cid, c] of Object.entries(m.components))
          for (const [role, kind] of Object.entries(ROLE_KIND) as [Role, ComponentKind][])
            if (c.kind === kind && !this.byRole.has(role))
              this.byRole.set(role, { id: `${multi ? `${manifest.id}:` : ""}${mid}/${cid}`, c });
  }

  private get packNames(): string {
    return this.manifests.map((m) => `"${m.id}"`).join(", ");
  }

  private component(role: Role) {
    const hit = this.byRole.get(role);
    if (!hit)
      throw new BadInputError(
        `pack ${this.packNames} has no ${ROLE_KIND[role]} component; install a pack that has one for this task`,
        { pack: this.packNames, kind: ROLE_KIND[role] },
      );
    return hit;
  }

  /** Bytes of one component's weights as `executor` holds them (ImageBind: only `modalities`, if given). */
  weightsBytes(
    role: Role,
    executor: Executor,
    format: OnnxWeights,
    modalities?: readonly ImageBindModality[],
  ): number {
    const { id, c } = this.component(role);
    const key = `${id}|${executor}|${format}|${modalities?.join(",") ?? ""}`;
    const hit = this.weightCache.get(key);
    if (hit !== undefined) return hit;
    const module = this.modules.get<object>(c);
    const linear = linearWeightKeys(module, componentClass(c.kind).extraLinearKeys);
    const scope = modalities ? imagebindPrefixes(modalities) : c.keyPrefixes;
    let bytes = 0;
    for (const [k, p] of namedParams(module)) {
      if (scope && !scope.some((pre) => k.startsWith(pre))) continue;
      if (executor === "tfjs" || format === "fp32" || p.dtype !== "float32" || p.shape.length < 2)
        bytes += WEIGHT_BYTES.fp32 * p.size;
      else if (format === "q4" && linear.has(k)) bytes += WEIGHT_BYTES.q4Linear * p.size;
      else bytes += WEIGHT_BYTES.fp16 * p.size;
    }
    this.weightCache.set(key, bytes);
    return bytes;
  }

  /** The activation profile of one traced call (cached per call and shapes). */
  profile(call: CallId, roles: readonly Role[], shapes: CallShapes): ActivationProfile {
    const comps = roles.map((r) => this.component(r));
    const key = `${call}|${comps.map((c) => c.id).join(",")}|${JSON.stringify(shapes)}`;
    let p = this.traces.get(key);
    if (!p) {
      p = traceActivations(
        callBody(
          call,
          comps.map((c) => c.c),
          shapes,
          this.modules,
        ),
      );
      this.traces.set(key, p);
    }
    return p;
  }

  /** Activation bytes of one piece of work. */
  workBytes(w: Work): { bytes: number; largest: number } {
    const p = this.profile(w.call, w.roles, w.shapes);
    if (w.executor === "onnx") {
      if (w.call === "guidance-audio" || w.call === "guidance-video")
        return {
          bytes: Math.round(ORT_GUIDANCE.activations * p.peakLive + ORT_GUIDANCE.fixedBytes),
          largest: p.largest,
        };
      return { bytes: p.peakLive, largest: p.largest };
    }
    const f = tfjsCalibration(w.call);
    return { bytes: Math.round((w.grad ? f.grad : f.forward) * p.tape), largest: p.largest };
  }

  /**
   * Activation bytes of a chain of work run as one: forward pieces add up (a tidy frees at its end); tfjs
   * pieces differentiated together (the guidance path: VAE → vocoder → ImageBind in one backward) hold all their
   * tapes at once, while the backward's working memory beyond a tape ((grad factor − 1) × tape: the recomputed
   * segment and gradient buffers) is needed by one piece at a time.
   */
  chainBytes(chain: readonly Work[]): { bytes: number; largest: number } {
    let sum = 0;
    let tapes = 0;
    let extra = 0;
    let largest = 0;
    for (const w of chain) {
      const p = this.profile(w.call, w.roles, w.shapes);
      largest = Math.max(largest, p.largest);
      if (w.executor === "tfjs" && w.grad) {
        tapes += p.tape;
        extra = Math.max(extra, (tfjsCalibration(w.call).grad - 1) * p.tape);
      } else sum += this.workBytes(w).bytes;
    }
    return { bytes: Math.round(sum + tapes + extra), largest };
  }

  /** Latent shapes of a task, from the pack's configs (pipelines/audioldm.ts `audioGeometry`). */
  geometry(o: Required<TaskOptions>): Geometry {
    let audio: Geometry["audio"] = null;
    if (this.byRole.has("audio.vae") && this.byRole.has("audio.vocoder")) {
      const vae = this.component("audio.vae").c.config as {
        block_out_channels: number[];
        latent_channels: number;
      };
      const voc = this.component("audio.vocoder").c.config as {
        upsample_rates: number[];
        sampling_rate: number;
        model_in_dim: number;
      };
      const f = 2 ** (vae.block_out_channels.length - 1);
      const perFrame = voc.upsample_rates.reduce((a, b) => a * b, 1) / voc.sampling_rate;
      const height = Math.ceil(Math.trunc(o.seconds / perFrame) / f) * f;
      audio = { latent: [vae.latent_channels, height / f, voc.model_in_dim / f], melFrames: height };
    }
    return { audio, video: { latent: [4, Math.ceil(o.height / 8), Math.ceil(o.width / 8)] } };
  }

  estimate(options: TaskOptions): MemoryEstimate {
    const o = withDefaults(options, this.manifests);
    for (const r of TASK_ROLES[o.task])
      if (r !== "imagebind" || o.guidance || o.promptTuning) this.component(r);
    const phases = declarePhases(o, this.geometry(o)).map((ph): PhaseEstimate => {
      const resident = ph.resident.map((r) => {
        // q4 only for the forward-only models; the gradient-path ones (VAE, vocoder, ImageBind) stay ≥ fp16
        const format =
          r.format ?? (FORWARD_ONLY.includes(r.role) || o.onnxWeights !== "q4" ? o.onnxWeights : "fp16");
        return {
          component: this.component(r.role).id,
          kind: ROLE_KIND[r.role],
          executor: r.executor,
          format: r.executor === "tfjs" ? ("fp32-tfjs" as const) : format,
          weightsBytes: Math.round(
            (r.copies ?? 1) * this.weightsBytes(r.role, r.executor, format, r.modalities),
          ),
        };
      });
      let activationBytes = 0;
      let activationSource = "";
      let largest = 0;
      for (const [label, chain] of ph.alternatives) {
        const { bytes: sum, largest: l } = this.chainBytes(chain);
        largest = Math.max(largest, l);
        if (sum > activationBytes) [activationBytes, activationSource] = [sum, label];
      }
      const weightsBytes = resident.reduce((a, r) => a + r.weightsBytes, 0);
      const total = weightsBytes + activationBytes;
      return {
        name: ph.name,
        resident,
        weightsBytes,
        activationBytes,
        activationSource,
        totalBytes: total,
        largestBufferBytes: largest,
      };
    });
    const peak = phases.reduce((a, p) => (p.totalBytes > a.totalBytes ? p : a));
    return {
      task: o.task,
      options: o,
      phases,
      peakBytes: peak.totalBytes,
      peakPhase: peak.name,
      largestBufferBytes: Math.max(...phases.map((p) => p.largestBufferBytes)),
    };
  }
}

export interface PlanResult {
  ok: boolean;
  estimate: MemoryEstimate;
  /** Fallbacks applied to fit, in words (empty when the request fit as is). */
  fallbacks: string[];
  /** Why it cannot run and what to change (null when ok). */
  message: string | null;
}

const MB = 1024 * 1024;
const mb = (n: number) => `${Math.ceil(n / MB)} MB`;
/** Fewest frames the frames fallback goes down to (AnimateDiff's motion modules were trained on 16). */
export const MIN_FRAMES = 8;

/**
 * Estimate, then try fallbacks in order until the run fits: ONNX weights q4 (fp16 → q4), no prompt tuning,
 * fewer frames (down to MIN_FRAMES). Returns the plan, or `ok: false` with a message naming the phase, the
 * biggest contributors and what to change.
 */
export function planMemory(planner: MemoryPlanner, options: TaskOptions, limits: PlanLimits): PlanResult {
  const fits = (x: MemoryEstimate) =>
    x.peakBytes <= limits.budgetBytes && x.largestBufferBytes <= limits.maxBufferSize;
  let o: TaskOptions = { ...options };
  let e = planner.estimate(o);
  const fallbacks: string[] = [];
  if (!fits(e) && e.options.onnxWeights !== "q4") {
    fallbacks.push(`UNet and text-encoder weights held as 4-bit (q4) instead of ${e.options.onnxWeights}`);
    o = { ...o, onnxWeights: "q4" };
    e = planner.estimate(o);
  }
  if (!fits(e) && e.options.promptTuning) {
    fallbacks.push("prompt tuning turned off");
    o = { ...o, promptTuning: false };
    e = planner.estimate(o);
  }
  const asked = e.options.frames;
  while (!fits(e) && (e.task === "a2v" || e.task === "joint") && e.options.frames > MIN_FRAMES) {
    o = { ...o, frames: Math.max(MIN_FRAMES, e.options.frames - 4) };
    e = planner.estimate(o);
  }
  if (e.options.frames !== asked) fallbacks.push(`${e.options.frames} frames instead of ${asked}`);
  if (fits(e)) return { ok: true, estimate: e, fallbacks, message: null };
  return { ok: false, estimate: e, fallbacks, message: refusal(e, limits) };
}

function refusal(e: MemoryEstimate, limits: PlanLimits): string {
  const phase = e.phases.find((p) => p.name === e.peakPhase)!;
  const top = [...phase.resident]
    .sort((a, b) => b.weightsBytes - a.weightsBytes)
    .slice(0, 3)
    .map((r) => `${r.component} ${mb(r.weightsBytes)}`)
    .join(", ");
  const change = memorySuggestions(e);
  if (e.largestBufferBytes > limits.maxBufferSize)
    return `This run needs a single ${mb(e.largestBufferBytes)} buffer, over this GPU's ${mb(limits.maxBufferSize)} maxBufferSize. Try ${change.join(", or ")}.`;
  return (
    `This run needs about ${mb(e.peakBytes)} in its ${phase.name} phase (weights ${mb(phase.weightsBytes)}: ${top}; ` +
    `activations ${mb(phase.activationBytes)} for the ${phase.activationSource}), more than the ${mb(limits.budgetBytes)} available. ` +
    `Try ${change.join(", or ")}.`
  );
}

/** What to change to make a run smaller, most effective first (the refusal's "Try …" list). */
export function memorySuggestions(e: MemoryEstimate): string[] {
  const change: string[] = [];
  if (e.task !== "a2v") change.push(`a shorter audio length (now ${e.options.seconds} s)`);
  if (e.task === "a2v" || e.task === "joint")
    change.push(
      `a lower resolution (now ${e.options.width}×${e.options.height})`,
      `fewer frames (now ${e.options.frames})`,
    );
  if (e.options.guidance) change.push("running without the aligner");
  change.push("a pack with smaller models");
  return change;
}

/** `planMemory`, throwing an OutOfMemoryError with the refusal message when the run cannot fit. */
export function requirePlan(planner: MemoryPlanner, options: TaskOptions, limits: PlanLimits): PlanResult {
  const r = planMemory(planner, options, limits);
  if (!r.ok)
    throw new OutOfMemoryError(r.message ?? "not enough memory", {
      peakBytes: r.estimate.peakBytes,
      budgetBytes: limits.budgetBytes,
    });
  return r;
}

function tfjsCalibration(call: CallId): { forward: number; grad: number } {
  if (call === "guidance-audio" || call === "guidance-video")
    throw new Error(`planner: ${call} is an ONNX graph, not a tfjs call`);
  return TFJS_CALIBRATION[call];
}
