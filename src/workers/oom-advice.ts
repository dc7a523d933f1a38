/**
 * The planner's advice for a generate request that ran out of memory at run time (src/engine/runtime/oom.ts):
 * the request is read structurally (its schema, generate-schemas.ts, is the generate job's), mapped to the
 * planner's task options, and estimated over the manifest of the pack it ran on.
 */
import { MemoryPlanner, memorySuggestions } from "../engine/packs/planner.js";
import type { TaskOptions } from "../engine/packs/planner-phases.js";
import type { PackManifest } from "../engine/packs/schema.js";

const positive = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;

/** The planner's advice for a run: its estimated peak and what to change, most effective first. */
export function plannerAdvice(manifests: readonly PackManifest[], options: TaskOptions): string {
  const e = new MemoryPlanner([...manifests]).estimate(options);
  const mb = Math.ceil(e.peakBytes / 1024 ** 2);
  return (
    `The memory planner puts this run's peak at about ${mb} MB (${e.peakPhase} phase). ` +
    `Try ${memorySuggestions(e).join(", or ")}; closing other GPU-heavy tabs also frees memory.`
  );
}

/** Planner options for a generate request, or null when it is not one. */
export function generatePlanOptions(params: unknown): TaskOptions | null {
  if (!params || typeof params !== "object") return null;
  const r = params as Record<string, unknown>;
  const task = r.task;
  if (task !== "t2a" && task !== "v2a" && task !== "i2a" && task !== "a2v" && task !== "joint") return null;
  const video = r.video as { numFrames?: unknown; fps?: unknown } | undefined;
  const audio = r.audio as { channels?: readonly { length: number }[]; sampleRate?: unknown } | undefined;
  const aligner = r.aligner as { enabled?: unknown; promptTuning?: Record<string, unknown> } | undefined;
  const pt = aligner?.promptTuning;
  const frames = positive(r.frames);
  let seconds = positive(r.durationS);
  const vFrames = positive(video?.numFrames);
  const vFps = positive(video?.fps);
  if (!seconds && vFrames && vFps) seconds = Math.max(1, Math.ceil(vFrames / vFps));
  const aLen = audio?.channels?.[0]?.length;
  const aRate = positive(audio?.sampleRate);
  if (!seconds && aLen && aRate) seconds = Math.max(1, Math.ceil(aLen / aRate));
  if (!seconds && frames && positive(r.fps)) seconds = Math.max(1, Math.ceil(frames / (r.fps as number)));
  const gs = r.guidanceScale;
  const cfg =
    typeof gs === "number"
      ? gs > 1
      : !!gs && typeof gs === "object" && Object.values(gs).some((x) => typeof x === "number" && x > 1);
  return {
    // the planner has no text-only task: T2A is planned as I2A (audio generation with a light condition)
    task: task === "t2a" ? "i2a" : task,
    ...(seconds ? { seconds } : {}),
    ...(frames ? { frames } : {}),
    ...(positive(r.height) ? { height: r.height as number } : {}),
    ...(positive(r.width) ? { width: r.width as number } : {}),
    guidance: aligner?.enabled === true,
    guidanceExecutor: r.gradExecutor === "onnx" ? "onnx" : "tfjs",
    promptTuning: !!pt && (pt.enabled === true || pt.audio === true || pt.video === true),
    cfg,
  };
}

/** Advice for `params` over `manifest`, or null when the request cannot be planned (nothing is invented). */
export function generateOomAdvice(params: unknown, manifest: PackManifest): string | null {
  const options = generatePlanOptions(params);
  if (!options) return null;
  try {
    return plannerAdvice([manifest], options);
  } catch {
    return null; // e.g. the pack lacks a component the planner needs for this task
  }
}
